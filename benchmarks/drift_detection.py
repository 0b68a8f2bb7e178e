"""How reliably drift is flagged: drifted batches caught, stationary batches left alone.

    python -m benchmarks.drift_detection [--groups 40] [--delay] [--decay]

For each of `groups` generator groups, the reference is stationary batches 1..N of that group (the
production model's training data); the judged batch is batch `judged_batch` of each scenario (and of
the stationary one). Goals and sizes live in configs/benchmarks/drift.yaml; the batch size is the
generator's (configs/datasource.yaml). Prints Markdown tables for BENCHMARKS.md. `--delay` adds the
share flagged at every batch number in `delay_batches`: how soon each drift is caught.
Batches are the generator's frames as served (feed types); both sides share those types.
`--decay` adds the retrain triggers on a real production model (trained once, on stationary batches of a
group of its own): for each scenario, the batch at which the decay trigger fires, alone and with the drift
check, and how often either fires on stationary batches (false retrainings).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from benchmarks.harness import arguments, markdown_table
from tasador.cleaning.clean import normalise
from tasador.configs import DatasourceConfig, DriftConfig
from tasador.data_api.generator import ListingGenerator, generator_from_config
from tasador.model import split_holdout, train_challenger
from tasador.monitoring.drift import drift_report
from tasador.monitoring.production_check import score_production
from tasador.settings import Settings
from tests.support.benchmark_configs import DetectionGoals, DriftBenchmark, benchmark_config

STATIONARY = "stationary"
SCENARIOS = (STATIONARY, "inflation", "new_state", "size_shift")


@dataclass
class Detection:
    scenario: str
    batch_number: int
    batches: int = 0
    flagged: int = 0
    features: Counter[str] = field(default_factory=Counter)

    @property
    def share(self) -> float:
        return self.flagged / self.batches if self.batches else 0.0

    def meets(self, goals: DetectionGoals) -> bool:
        if self.scenario == STATIONARY:
            return self.share <= goals.stationary_flagged_max
        return self.share >= goals.drifted_flagged_min


def detect(
    groups: Iterable[int],
    batch_numbers: Iterable[int],
    drift_config: DriftConfig,
    source_config: DatasourceConfig,
    bench: DriftBenchmark,
    scenarios: Iterable[str] = SCENARIOS,
) -> list[Detection]:
    """Judge batch k of every scenario for every group against that group's stationary reference."""
    size = source_config.generator.batch_size
    generators = {name: generator_from_config(source_config, scenario=name) for name in scenarios}
    numbers = list(batch_numbers)
    results = {(name, k): Detection(name, k) for name in generators for k in numbers}
    for group in groups:
        reference = _reference(generators[STATIONARY], group, bench.reference_batches, size)
        for (name, k), result in results.items():
            report = drift_report(reference, generators[name].batch(group, k, size), drift_config)
            result.batches += 1
            result.flagged += report.drifted
            result.features.update(f.name for f in report.flagged)
    return list(results.values())


def _reference(stationary: ListingGenerator, group: int, batches: int, size: int) -> pd.DataFrame:
    return pd.concat([stationary.batch(group, k, size) for k in range(1, batches + 1)], ignore_index=True)


def goals_table(results: list[Detection], goals: DetectionGoals) -> str:
    header = ["scenario", "batch judged", "batches", "flagged", "share flagged", "goal", "met"]
    rows = []
    for r in results:
        goal = (
            f"<= {goals.stationary_flagged_max:.0%}"
            if r.scenario == STATIONARY
            else f">= {goals.drifted_flagged_min:.0%}"
        )
        features = ", ".join(f"{name} ({n})" for name, n in r.features.most_common()) or "-"
        met = "yes" if r.meets(goals) else "NO"
        rows.append([r.scenario, r.batch_number, r.batches, r.flagged, f"{r.share:.1%}", goal, met, features])
    return markdown_table([*header, "features flagged (batches)"], rows)


def delay_table(results: list[Detection]) -> str:
    numbers = sorted({r.batch_number for r in results})
    share = {(r.scenario, r.batch_number): r.share for r in results}
    rows = [
        [name, *(f"{share[(name, k)]:.0%}" for k in numbers)] for name in dict.fromkeys(r.scenario for r in results)
    ]
    return markdown_table(["scenario", *(f"batch {k}" for k in numbers)], rows)


@dataclass
class Retraining:
    """When a scenario's batches first trigger retraining, per group: by decay alone, and with drift too."""

    scenario: str
    groups: int = 0
    decay_first: list[int] = field(default_factory=list)  # batch number of the first firing, per group that fired
    any_first: list[int] = field(default_factory=list)
    judged: int = 0  # batches judged (stationary: every one is a chance of a false retraining)
    decay_fired: int = 0
    any_fired: int = 0


def retrainings(
    groups: Iterable[int],
    batch_numbers: list[int],
    drift_config: DriftConfig,
    source_config: DatasourceConfig,
    bench: DriftBenchmark,
) -> list[Retraining]:
    """Judge batches of every scenario with one production model, as the loop would before its decision."""
    size = source_config.generator.batch_size
    generators = {name: generator_from_config(source_config, scenario=name) for name in SCENARIOS}
    model_config = Settings().configs.model
    # The production model: stationary batches 1..N of a group no judged batch comes from.
    known = _clean(_reference(generators[STATIONARY], bench.decay_training_group, bench.reference_batches, size))
    train, holdout = split_holdout(known, model_config)
    predict = train_challenger(train, model_config, model_config.seed).predictor.predict
    results = {name: Retraining(name) for name in SCENARIOS}
    for group in groups:
        for name, result in results.items():
            result.groups += 1
            decay_first = any_first = None
            for k in batch_numbers:
                batch = _clean(generators[name].batch(group, k, size))
                score = score_production("bench", predict, known, holdout, batch, drift_config)
                decayed = score is not None and score.decay.fired
                drifted = drift_report(known, batch, drift_config).drifted
                result.judged += 1
                result.decay_fired += decayed
                result.any_fired += decayed or drifted
                decay_first = decay_first or (k if decayed else None)
                any_first = any_first or (k if decayed or drifted else None)
            result.decay_first += [decay_first] if decay_first else []
            result.any_first += [any_first] if any_first else []
    return list(results.values())


def _clean(frame: pd.DataFrame) -> pd.DataFrame:
    """The generator's rows through the loop's cleaning (CLEAN types, row hashes, rules), as the loop sees them."""
    rows = frame.astype(object).where(pd.notna(frame), None).to_dict("records")
    clean, _ = normalise(list(enumerate(rows)), Settings().configs.cleaning)
    return clean


def retraining_table(results: list[Retraining], batch_numbers: list[int]) -> str:
    last = batch_numbers[-1]
    header = ["scenario", "groups", f"decay alone: fired by batch {last}", "median first batch"]
    header += [f"with the drift check: fired by batch {last}", "median first batch", "batches judged"]
    header += ["fired on a batch: decay alone", "with drift"]
    rows = [
        [r.scenario, r.groups, f"{len(r.decay_first) / r.groups:.0%}", _median(r.decay_first),
         f"{len(r.any_first) / r.groups:.0%}", _median(r.any_first), r.judged,
         f"{r.decay_fired / r.judged:.1%}", f"{r.any_fired / r.judged:.1%}"]
        for r in results
    ]  # fmt: skip
    return markdown_table(header, rows)


def _median(values: list[int]) -> str:
    return f"{pd.Series(values).median():g}" if values else "-"


def main() -> None:
    configs = Settings().configs
    drift_config, source_config = configs.drift, configs.datasource
    bench = benchmark_config("drift", DriftBenchmark)
    parser = arguments(__doc__)
    parser.add_argument("--groups", type=int, default=bench.groups, help="batches of each kind")
    parser.add_argument("--delay", action="store_true", help="also the share flagged per batch number")
    parser.add_argument("--decay", action="store_true", help="also the retrain triggers on a production model")
    args = parser.parse_args()

    wall, cpu = time.perf_counter(), time.process_time()
    judged = detect(range(1, args.groups + 1), [bench.judged_batch], drift_config, source_config, bench)
    print(
        f"Reference: stationary batches 1-{bench.reference_batches} of each group "
        f"({source_config.generator.batch_size} rows each); {args.groups} groups.\n"
    )
    print(goals_table(judged, bench.goals))
    reports = len(judged) * args.groups
    if args.delay:
        delays = detect(range(1, args.groups + 1), bench.delay_batches, drift_config, source_config, bench)
        reports += len(delays) * args.groups
        print("\nShare of batches flagged, by batch number (drift starts at batch 2):\n")
        print(delay_table(delays))
    if args.decay:
        decay_groups, numbers = bench.decay_groups, list(bench.delay_batches)
        found = retrainings(range(1, decay_groups + 1), numbers, drift_config, source_config, bench)
        reports += len(found) * decay_groups * len(numbers)
        print(
            f"\nRetrain triggers on one production model (stationary batches 1-{bench.reference_batches} of group "
            f"{bench.decay_training_group}), batches {numbers[0]}-{numbers[-1]} of {decay_groups} other groups "
            "(drift starts at batch 2):\n"
        )
        print(retraining_table(found, numbers))
        stationary = next(r for r in found if r.scenario == STATIONARY)
        if stationary.any_fired / stationary.judged > bench.goals.stationary_flagged_max:
            raise SystemExit(
                "Stationary batches retrain too often (see above); revisit `decay:` in configs/drift.yaml."
            )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"\n{reports} drift reports (with generation) in {wall:.1f} s wall, {cpu:.1f} s CPU "
        f"({1000 * cpu / reports:.0f} ms CPU each)."
    )
    if not all(r.meets(bench.goals) for r in judged):
        raise SystemExit("A detection goal was missed (see the table above); revisit configs/drift.yaml thresholds.")


if __name__ == "__main__":
    main()
