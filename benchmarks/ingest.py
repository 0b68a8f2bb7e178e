"""RAW -> CLEAN throughput on synthetic rows: RAW ingest, GX validation, cleaning into CLEAN, per stage.

    python -m benchmarks.ingest [--rows 100000 2200000] [--backend sqlite|postgresql|both]
        [--batch-rows 100000] [--no-baseline] [--write] [--profile out.prof]

Rows come from the synthetic generator (configs/datasource.yaml, scenario `stationary`), as the in-process
source hands them out (`frame_to_rows`), in batches of --batch-rows so memory stays bounded. Each batch goes
through the loop's own stage functions: `store_raw_batch` (RAW), `validate` (reads the batch from RAW; Great
Expectations report and hard failures), `clean` (reads the batch from RAW; rules, duplicates against CLEAN,
CLEAN + quarantine). Making the rows is not timed.
On PostgreSQL the same rows also go the way users would write it instead (the baseline, `to_sql`): each batch
as a DataFrame through `DataFrame.to_sql` into a RAW table, then `dropna`, `drop_duplicates` and `to_sql` into
a CLEAN table; no validation, no report. Issue 17's goal: the loop with GX at least 1.5x the baseline's pace.
Each (backend, rows) runs in a fresh child process, one after the other, so its peak RSS is its own;
PostgreSQL runs get a fresh database that is dropped afterwards. Figures: wall and CPU seconds (CPU is the
fairer figure on a shared machine) and rows/s per stage, end to end with and without the validation
stage, peak RSS and the load average. --write replaces the ingest section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import importlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from benchmarks.harness import arguments, markdown_table, scratch_postgres, write_section

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS_MD = REPO_ROOT / "BENCHMARKS.md"
SECTION_TITLE = "## Ingest: RAW → CLEAN"
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
STAGES = ("ingest_raw", "validate", "clean")
#: The stages a batch costs when nothing validates it.
WITHOUT_GX = ("ingest_raw", "clean")
BASELINE = "to_sql"  # the backend name of the baseline's runs
BASELINE_STAGES = ("raw_to_sql", "dropna_drop_duplicates", "clean_to_sql")
GOAL_ROWS_PER_S = 100_000
GOAL_OVER_BASELINE = 1.5
#: Where the time goes and what was done about it (profiled with --profile; kept with the figures).
NOTES = """Issue 17 (2026-12-02) made the data path one code path per job: validate and clean each read the batch
from RAW (`Store.raw_rows`, `json`) and parse it with `parse_rows`; RAW, CLEAN and the quarantine are written by
psycopg's `Cursor.copy()` row by row (`write_row`). The earlier sessions' speed-ups that kept a second path (the
parse during the COPY and its cache, Arrow's JSON reader, hand-built COPY text, Arrow's CSV, server-joined reads)
are gone; their figures are in "Figures moved out of the code"."""
T = TypeVar("T")


@dataclass
class StageTime:
    wall_s: float = 0.0
    cpu_s: float = 0.0  # this process
    server_cpu_s: float = 0.0  # the PostgreSQL backends serving this run's database

    def add(self, wall_s: float, cpu_s: float, server_cpu_s: float = 0.0) -> None:
        self.wall_s += wall_s
        self.cpu_s += cpu_s
        self.server_cpu_s += server_cpu_s


class ServerCpu:
    """CPU seconds spent by the PostgreSQL processes connected to one database (read from /proc)."""

    def __init__(self, admin_url: str | None, database: str | None) -> None:
        self._database = database
        self._engine = None
        if admin_url and database:
            from sqlalchemy import create_engine

            self._engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self._seen: dict[int, float] = {}

    def total(self) -> float:
        """CPU seconds of every backend seen so far (a backend that ended keeps its last reading)."""
        if self._engine is None:
            return 0.0
        from sqlalchemy import text

        with self._engine.connect() as conn:
            pids = conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = :db"), {"db": self._database}
            ).scalars()
            for pid in pids:
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                self._seen[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return sum(self._seen.values())

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


@dataclass
class RunResult:
    backend: str
    rows: int
    batch_rows: int
    batches: int
    stages: dict[str, StageTime]
    clean_rows: int
    quarantined_rows: int
    peak_rss_mib: float
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    generate_cpu_s: float
    gx_import: StageTime
    reasons: dict[str, int] = field(default_factory=dict)


# --- one run, in its own process ------------------------------------------------------------------------


def _batches(rows: int, batch_rows: int, scenario: str) -> Iterator[tuple[int, list[dict[str, Any]], float]]:
    """(batch number, rows as the in-process source hands them out, CPU seconds it took to make them)."""
    from tasador.data_api.feeds import frame_to_rows
    from tasador.data_api.generator import generator_from_config
    from tasador.settings import Settings

    generator = generator_from_config(Settings().configs.datasource, scenario=scenario)
    for number, start in enumerate(range(0, rows, batch_rows), start=1):
        cpu = time.process_time()
        made = frame_to_rows(generator.batch(1, number, min(batch_rows, rows - start)))
        yield number, made, time.process_time() - cpu


def _timed(stage: StageTime, work: Callable[[], T], server: ServerCpu | None = None) -> T:
    server_before = server.total() if server else 0.0
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    stage.add(wall, cpu, (server.total() - server_before) if server else 0.0)
    return result


def _peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def _database(backend: str, admin_url: str, folder: Path) -> Iterator[str]:
    """A fresh RAW/CLEAN database for one run: a SQLite file, or a PostgreSQL database dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    with scratch_postgres(admin_url, "tasador_bench_ingest") as url:
        yield url


def run_once(backend: str, rows: int, batch_rows: int, scenario: str, admin_url: str) -> RunResult:
    from tasador.cleaning.stage import clean
    from tasador.ingest.stage import store_raw_batch
    from tasador.results import FetchedBatch
    from tasador.schema import Batch
    from tasador.settings import Settings
    from tasador.store import Store
    from tasador.validation.stage import validate

    stages = {name: StageTime() for name in STAGES}
    import_time = StageTime()
    load_before = os.getloadavg()
    clean_rows = quarantined = 0
    generate_cpu = 0.0
    reasons: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp, _database(backend, admin_url, Path(tmp)) as url:
        settings = Settings(home=Path(tmp) / "home", db_url=url)
        store = Store(url)
        server = ServerCpu(admin_url if backend == "postgresql" else None, url.rsplit("/", 1)[1])
        # Great Expectations costs seconds to import, once per process: timed apart, not per batch.
        _timed(import_time, lambda: importlib.import_module("great_expectations"))
        for number, made, cpu in _batches(rows, batch_rows, scenario):
            generate_cpu += cpu
            fetched = FetchedBatch(batch=Batch("bench:ingest", 1, number, made))
            batch_id = _timed(stages["ingest_raw"], lambda f=fetched: store_raw_batch(store, f), server)
            del made, fetched
            report = _timed(stages["validate"], lambda b=batch_id: validate(store, settings, b), server)
            if report.rejected:
                raise SystemExit(f"batch {number} was rejected: {report.rejected}")
            summary = _timed(stages["clean"], lambda b=batch_id, r=report: clean(store, settings, b, r), server)
            clean_rows += summary.clean
            quarantined += summary.quarantined
            for reason, count in summary.top_reasons.items():
                reasons[reason] = reasons.get(reason, 0) + count
        if clean_rows + quarantined != rows:
            raise SystemExit(f"rows lost: {rows} in, {clean_rows} clean + {quarantined} quarantined")
        store.dispose()
        server.dispose()
    return RunResult(
        backend=backend,
        rows=rows,
        batch_rows=batch_rows,
        batches=-(-rows // batch_rows),
        stages=stages,
        clean_rows=clean_rows,
        quarantined_rows=quarantined,
        peak_rss_mib=_peak_rss_mib(),
        load_before=load_before,
        load_after=os.getloadavg(),
        generate_cpu_s=generate_cpu,
        gx_import=import_time,
        reasons=dict(sorted(reasons.items(), key=lambda item: -item[1])[:5]),
    )


def run_baseline(_backend: str, rows: int, batch_rows: int, scenario: str, admin_url: str) -> RunResult:
    """What users would write instead, on PostgreSQL: `to_sql` of RAW, `dropna` + `drop_duplicates`, `to_sql`."""
    import pandas as pd
    from sqlalchemy import create_engine

    stages = {name: StageTime() for name in BASELINE_STAGES}
    load_before = os.getloadavg()
    clean_rows = generate_cpu = 0.0
    with scratch_postgres(admin_url, "tasador_bench_to_sql") as url:
        engine = create_engine(url)
        server = ServerCpu(admin_url, url.rsplit("/", 1)[1])
        for _, made, cpu in _batches(rows, batch_rows, scenario):
            generate_cpu += cpu

            def raw(made: list[dict[str, Any]] = made) -> pd.DataFrame:
                frame = pd.DataFrame(made)
                frame.to_sql("raw", engine, if_exists="append", index=False)
                return frame

            frame = _timed(stages["raw_to_sql"], raw, server)
            clean = _timed(stages["dropna_drop_duplicates"], lambda f=frame: f.dropna().drop_duplicates(), server)
            _timed(
                stages["clean_to_sql"],
                lambda c=clean: c.to_sql("clean", engine, if_exists="append", index=False),
                server,
            )
            clean_rows += len(clean)
            del made, frame
        engine.dispose()
        server.dispose()
    return RunResult(
        backend=BASELINE,
        rows=rows,
        batch_rows=batch_rows,
        batches=-(-rows // batch_rows),
        stages=stages,
        clean_rows=int(clean_rows),
        quarantined_rows=rows - int(clean_rows),
        peak_rss_mib=_peak_rss_mib(),
        load_before=load_before,
        load_after=os.getloadavg(),
        generate_cpu_s=generate_cpu,
        gx_import=StageTime(),
    )


# --- the parent: one child per run, then the report --------------------------------------------------------


def _run_child(args: argparse.Namespace, backend: str, rows: int) -> RunResult:
    command = [sys.executable, "-m", "benchmarks.ingest", "--child", backend, str(rows)]
    command += ["--batch-rows", str(args.batch_rows)]
    command += ["--scenario", args.scenario, "--postgres-admin-url", args.postgres_admin_url]
    if args.profile:
        command += ["--profile", f"{args.profile}.{backend}.{rows}"]
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, env=_child_env(), cwd=REPO_ROOT)
    data = json.loads(done.stdout.strip().splitlines()[-1])
    data["stages"] = {name: StageTime(**value) for name, value in data["stages"].items()}
    data["gx_import"] = StageTime(**data["gx_import"])
    return RunResult(**data)


def _child_env() -> dict[str, str]:
    from tasador.env import QUIET_DEFAULTS

    return os.environ | QUIET_DEFAULTS


def _rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}" if seconds > 0 else "—"


def _total(result: RunResult, stages: tuple[str, ...]) -> StageTime:
    total = StageTime()
    for name in stages:
        stage = result.stages[name]
        total.add(stage.wall_s, stage.cpu_s, stage.server_cpu_s)
    return total


def table(results: list[RunResult]) -> str:
    """Markdown: one row per run and stage, then the two end-to-end figures."""
    header = ["backend", "rows (batches)", "stage", "CPU s", "rows/s CPU", "+ server CPU s", "rows/s all CPU"]
    header += ["wall s", "rows/s wall", "peak RSS MiB", "load"]
    lines = []
    for result in results:
        load = f"{result.load_before[0]:.1f} → {result.load_after[0]:.1f}"
        size = f"{result.rows:,} ({result.batches} × {result.batch_rows:,})"
        rows = list(result.stages.items())
        if result.backend == BASELINE:
            rows += [("**baseline: to_sql, dropna, drop_duplicates, to_sql**", _total(result, BASELINE_STAGES))]
        else:
            rows += [
                ("**RAW→CLEAN with GX validation**", _total(result, STAGES)),
                ("**RAW→CLEAN without GX** (ingest_raw + clean)", _total(result, WITHOUT_GX)),
            ]
        for name, time_ in rows:
            both = time_.cpu_s + time_.server_cpu_s
            lines.append(
                [
                    result.backend, size, name, f"{time_.cpu_s:.1f}", _rate(result.rows, time_.cpu_s),
                    f"{time_.server_cpu_s:.1f}", _rate(result.rows, both), f"{time_.wall_s:.1f}",
                    _rate(result.rows, time_.wall_s), f"{result.peak_rss_mib:,.0f}", load,
                ]
            )  # fmt: skip
    return markdown_table(header, lines)


def section(results: list[RunResult], command: str) -> str:
    outcomes = "; ".join(
        f"{r.backend} {r.rows:,}: {r.clean_rows:,} clean, {r.quarantined_rows:,} quarantined" for r in results
    )
    verdicts = []
    for result in (r for r in results if r.backend == "postgresql"):
        with_gx, without = _total(result, STAGES), _total(result, WITHOUT_GX)
        verdicts.append(
            f"{result.rows:,} rows: without GX {_rate(result.rows, without.cpu_s)} rows/s on this process's CPU, "
            f"{_rate(result.rows, without.cpu_s + without.server_cpu_s)} counting PostgreSQL's CPU too, "
            f"{_rate(result.rows, without.wall_s)} wall; with GX {_rate(result.rows, with_gx.cpu_s)}, "
            f"{_rate(result.rows, with_gx.cpu_s + with_gx.server_cpu_s)} and {_rate(result.rows, with_gx.wall_s)}"
        )
    imports = ", ".join(f"{r.gx_import.cpu_s:.1f}" for r in results if r.backend != BASELINE)
    return f"""{SECTION_TITLE}
`{command}` — {dt.date.today().isoformat()}, {platform.node() or "this machine"}, {os.cpu_count()} cores,
Python {platform.python_version()}. Synthetic rows (scenario stationary) as the in-process source hands them out,
through the loop's stages: `store_raw_batch` (RAW, COPY on PostgreSQL), `validate` (reads the batch from RAW;
Great Expectations: three suites, JSON + HTML report), `clean` (`clean_batch`: reads the batch from RAW; rules,
duplicates against CLEAN, CLEAN + quarantine). The `{BASELINE}` rows are the same batches the way users would
write it instead: `DataFrame.to_sql` of the rows into a RAW table, `dropna`, `drop_duplicates`, `to_sql` into
a CLEAN table (no validation, no report).
Making the rows is not timed. Each run is a fresh process and a fresh database; "CPU s" is this process,
"server CPU s" the PostgreSQL backends of the run's database (read from /proc); the load average is the
1-minute figure before → after the run (wall seconds inflate with other work on the machine; CPU seconds much
less). Importing Great Expectations (once per process: {imports} s CPU) is timed apart.

{table(results)}

Rows: {outcomes}.
Goal (issue 17) the loop with GX ≥ {GOAL_OVER_BASELINE}x the baseline's pace on PostgreSQL (wall):
{_over_baseline(results)}.
Goal ≥ {GOAL_ROWS_PER_S:,} rows/s RAW→CLEAN on PostgreSQL (wall, with GX) — **{_verdict(results)}**:
{"; ".join(verdicts) or "not measured"}.
Cores: {"; ".join(_cores(r) for r in results if r.backend == "postgresql") or "not measured"}.
The pipeline always validates: the figure "with GX validation" is what a batch costs in the loop; the one
"without GX" is the store and cleaning path alone (the same rows are quarantined either way, since cleaning
applies the same rules).

{NOTES}"""


def _cores(result: RunResult) -> str:
    """CPU per 100k rows, ours and the server's, and the cores it takes to go at the goal's pace."""
    total = _total(result, STAGES)
    per_100k = 100_000 / result.rows
    ours, server = total.cpu_s * per_100k, total.server_cpu_s * per_100k
    needed = (ours + server) * GOAL_ROWS_PER_S / 100_000
    return (
        f"{result.rows:,} rows: {ours:.1f} CPU s per 100k rows in our process + {server:.1f} in PostgreSQL's, "
        f"so {GOAL_ROWS_PER_S:,} rows/s keeps {needed:.1f} cores busy with every stage overlapped "
        f"(this machine has {os.cpu_count()})"
    )


def _over_baseline(results: list[RunResult]) -> str:
    """The loop's pace with GX over the baseline's, per size, from the runs of one sitting."""
    baseline = {r.rows: r for r in results if r.backend == BASELINE}
    figures = []
    for result in (r for r in results if r.backend == "postgresql" and r.rows in baseline):
        ours, theirs = _total(result, STAGES), _total(baseline[result.rows], BASELINE_STAGES)
        ratio = theirs.wall_s / ours.wall_s
        cpu_ratio = (theirs.cpu_s + theirs.server_cpu_s) / (ours.cpu_s + ours.server_cpu_s)
        verdict = "met" if ratio >= GOAL_OVER_BASELINE else "not met"
        figures.append(f"{result.rows:,} rows: {ratio:.2f}x wall (**{verdict}**), {cpu_ratio:.2f}x in CPU seconds")
    return "; ".join(figures) or "not measured"


def _verdict(results: list[RunResult]) -> str:
    postgres = [r for r in results if r.backend == "postgresql"]
    if not postgres:
        return "not measured"
    met = all(r.rows / _total(r, STAGES).wall_s >= GOAL_ROWS_PER_S for r in postgres)
    return "met" if met else "not met"


def main() -> None:
    parser = arguments(__doc__, write="replace the ingest section of BENCHMARKS.md")
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 2_200_000])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--batch-rows", type=int, default=100_000, help="rows per batch (memory stays bounded)")
    parser.add_argument("--scenario", default="stationary")
    parser.add_argument("--postgres-admin-url", default=DEFAULT_ADMIN_URL, help="where to create the database")
    parser.add_argument("--no-baseline", action="store_true", help="skip the to_sql baseline on PostgreSQL")
    parser.add_argument("--profile", help="write a cProfile of each run to PROFILE.<backend>.<rows>")
    parser.add_argument("--child", nargs=2, metavar=("BACKEND", "ROWS"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        backend, rows = args.child[0], int(args.child[1])
        # The default (wall) timer: with time.process_time every profiled call is a system call, 3x slower.
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        run = run_baseline if backend == BASELINE else run_once
        result = run(backend, rows, args.batch_rows, args.scenario, args.postgres_admin_url)
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
        print(json.dumps(asdict(result)))
        return

    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    if "postgresql" in backends and not args.no_baseline:
        backends += (BASELINE,)
    results = []
    for rows in args.rows:
        for backend in backends:
            print(f"{backend}, {rows:,} rows ...", file=sys.stderr, flush=True)
            results.append(_run_child(args, backend, rows))
            print(table(results[-1:]), flush=True)
    command = "python -m benchmarks.ingest " + " ".join(sys.argv[1:])
    if args.write:
        write_section(section(results, command.rstrip()), SECTION_TITLE, BENCHMARKS_MD)
        print(f"wrote the ingest section of {BENCHMARKS_MD}", file=sys.stderr)


if __name__ == "__main__":
    main()
