"""ZenML's share of a training run: `run.py --pipeline training` vs the same loop stages called directly.

    python -m benchmarks.zenml_overhead [--batches 2] [--write]

Both sides run as fresh processes (imports included, as a user pays them), each on its own temporary
TASADOR_HOME and ZENML_CONFIG_PATH, so `.tasador/` is never touched. Batch 1 of the default source
trains (no production model yet); batch 2 of the `demo` scenario does not (calm, few new rows). The
pipeline side first applies stacks/local.yaml (not timed). Wall and CPU seconds (user + system of the
child process and its children) per batch; the overhead is pipeline minus direct, as a share of the
pipeline. `--write` puts the table into BENCHMARKS.md's "ZenML overhead" section.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import arguments, run_timed, write_section

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## ZenML overhead"


def _environment(home: Path) -> dict[str, str]:
    from tasador.env import QUIET_DEFAULTS

    env = {**os.environ, **QUIET_DEFAULTS, "TASADOR_HOME": str(home), "ZENML_CONFIG_PATH": str(home / "zenml")}
    for name in ("TASADOR_DB_URL", "MLFLOW_TRACKING_URI", "TASADOR_MLFLOW_TRACKING_URI"):
        env.pop(name, None)  # the embedded defaults under the temporary home
    return env


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    return run_timed(command, env, ROOT)


def pipeline_runs(batches: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="tasador-zenml-") as tmp:
        env = _environment(Path(tmp))
        _timed([sys.executable, "run.py", "stack", "apply", "stacks/local.yaml", "--activate"], env)
        results = []
        for number in range(1, batches + 1):
            wall, cpu, out = _timed([sys.executable, "run.py", "--pipeline", "training"], env)
            results.append({"batch": number, "wall_s": wall, "cpu_s": cpu, "trained": "decision     retrain:" in out})
        return results


def direct_runs(batches: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="tasador-direct-") as tmp:
        env = _environment(Path(tmp))
        results = []
        for number in range(1, batches + 1):
            command = [sys.executable, "-m", "benchmarks.zenml_overhead", "--one-direct-batch"]
            wall, cpu, out = _timed(command, env)
            stages = json.loads(out.strip().splitlines()[-1])
            results.append({"batch": number, "wall_s": wall, "cpu_s": cpu, **stages})
        return results


def one_direct_batch() -> dict[str, Any]:
    """The training pipeline's stages in order, as its steps call them, without ZenML."""
    started = time.perf_counter()
    from tasador.ingest.stage import next_batch
    from tasador.loop.summary import finish_batch
    from tasador.settings import Settings
    from tasador.store import Store
    from tests.support.turn import run_batch

    settings = Settings()
    settings.ensure_home()
    store = Store(settings.database_url)
    imported = time.perf_counter()
    turn = run_batch(store, settings, next_batch(store, settings))
    stages = [turn.data_report, turn.clean_summary, turn.decision, turn.promotion, turn.explanation, turn.served]
    finish_batch(store, turn.batch_id, *stages, None)
    training = turn.training
    return {
        "imports_s": imported - started,
        "stages_s": time.perf_counter() - imported,
        "trained": training.ran,
    }


def render(pipeline: list[dict[str, Any]], direct: list[dict[str, Any]], load: str) -> str:
    lines = [
        SECTION,
        f"`python -m benchmarks.zenml_overhead --batches {len(pipeline)} --write` — fresh temporary "
        f"TASADOR_HOME per side, local stack, SQLite; load average {load}.",
        "",
        "| batch | trains | pipeline wall s / CPU s | direct wall s / CPU s (stages alone wall s) "
        "| ZenML overhead, wall | ZenML overhead, CPU |",
        "|---|---|---|---|---|---|",
    ]
    for p, d in zip(pipeline, direct, strict=True):
        lines.append(
            f"| {p['batch']} | {'yes' if p['trained'] else 'no'} | {p['wall_s']:.1f} / {p['cpu_s']:.1f} "
            f"| {d['wall_s']:.1f} / {d['cpu_s']:.1f} ({d['stages_s']:.1f}) "
            f"| {p['wall_s'] - d['wall_s']:.1f} s = {100 * (p['wall_s'] - d['wall_s']) / p['wall_s']:.0f} % "
            f"| {p['cpu_s'] - d['cpu_s']:.1f} s = {100 * (p['cpu_s'] - d['cpu_s']) / p['cpu_s']:.0f} % |"
        )
    lines += [
        "",
        "Overhead = what `run.py --pipeline training` costs beyond a process calling the same tasador.loop stages: "
        "importing ZenML, its client and store, step bookkeeping, artifact materialisation and the stack check. "
        "One run per row: on a shared machine read the CPU column, and expect a few seconds of spread.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = arguments(__doc__, write="put the section into BENCHMARKS.md")
    parser.add_argument("--batches", type=int, default=2)
    parser.add_argument("--one-direct-batch", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_direct_batch:
        print(json.dumps(one_direct_batch()))
        return
    load_before = os.getloadavg()[0]
    pipeline = pipeline_runs(args.batches)
    direct = direct_runs(args.batches)
    text = render(pipeline, direct, f"{load_before:.1f}→{os.getloadavg()[0]:.1f}")
    print(text)
    if args.write:
        write_section(text, SECTION, ROOT / "BENCHMARKS.md")


if __name__ == "__main__":
    main()
