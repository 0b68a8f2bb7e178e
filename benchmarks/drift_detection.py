"""How reliably drift is flagged: drifted batches caught, stationary batches left alone.

    python -m benchmarks.drift_detection [--groups 40] [--delay]

For each of `groups` generator groups, the reference is stationary batches 1..N of that group (the
production model's training data); the judged batch is batch `judged_batch` of each scenario (and of
the stationary one). Goals and sizes live in configs/drift.yaml (`benchmark:`); the batch size is the
generator's (configs/datasource.yaml). Prints Markdown tables for BENCHMARKS.md. `--delay` adds the
share flagged at every batch number in `delay_batches`: how soon each drift is caught.
Batches are the generator's frames as served (feed types); both sides share those types.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from tasador.datasource.generator import ListingGenerator, generator_from_config
from tasador.drift import drift_report
from tasador.settings import load_config

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

    def meets(self, goals: Mapping[str, float]) -> bool:
        if self.scenario == STATIONARY:
            return self.share <= float(goals["stationary_flagged_max"])
        return self.share >= float(goals["drifted_flagged_min"])


def detect(
    groups: Iterable[int],
    batch_numbers: Iterable[int],
    drift_config: Mapping[str, Any],
    source_config: Mapping[str, Any],
    scenarios: Iterable[str] = SCENARIOS,
) -> list[Detection]:
    """Judge batch k of every scenario for every group against that group's stationary reference."""
    bench = drift_config["benchmark"]
    size = int(source_config["generator"]["batch_size"])
    generators = {name: generator_from_config(dict(source_config), scenario=name) for name in scenarios}
    numbers = list(batch_numbers)
    results = {(name, k): Detection(name, k) for name in generators for k in numbers}
    for group in groups:
        reference = _reference(generators[STATIONARY], group, int(bench["reference_batches"]), size)
        for (name, k), result in results.items():
            report = drift_report(reference, generators[name].batch(group, k, size), drift_config)
            result.batches += 1
            result.flagged += report.drifted
            result.features.update(f.name for f in report.flagged)
    return list(results.values())


def _reference(stationary: ListingGenerator, group: int, batches: int, size: int) -> pd.DataFrame:
    return pd.concat([stationary.batch(group, k, size) for k in range(1, batches + 1)], ignore_index=True)


def goals_table(results: list[Detection], goals: Mapping[str, float]) -> str:
    lines = [
        "| scenario | batch judged | batches | flagged | share flagged | goal | met | features flagged (batches) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        goal = (
            f"<= {float(goals['stationary_flagged_max']):.0%}"
            if r.scenario == STATIONARY
            else f">= {float(goals['drifted_flagged_min']):.0%}"
        )
        features = ", ".join(f"{name} ({n})" for name, n in r.features.most_common()) or "-"
        lines.append(
            f"| {r.scenario} | {r.batch_number} | {r.batches} | {r.flagged} | {r.share:.1%} | {goal} | "
            f"{'yes' if r.meets(goals) else 'NO'} | {features} |"
        )
    return "\n".join(lines)


def delay_table(results: list[Detection]) -> str:
    numbers = sorted({r.batch_number for r in results})
    share = {(r.scenario, r.batch_number): r.share for r in results}
    lines = [
        "| scenario | " + " | ".join(f"batch {k}" for k in numbers) + " |",
        "|---|" + "---|" * len(numbers),
    ]
    for name in dict.fromkeys(r.scenario for r in results):
        lines.append(f"| {name} | " + " | ".join(f"{share[(name, k)]:.0%}" for k in numbers) + " |")
    return "\n".join(lines)


def main() -> None:
    drift_config, source_config = load_config("drift"), load_config("datasource")
    bench = drift_config["benchmark"]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=int(bench["groups"]), help="batches of each kind")
    parser.add_argument("--delay", action="store_true", help="also the share flagged per batch number")
    args = parser.parse_args()

    wall, cpu = time.perf_counter(), time.process_time()
    judged = detect(range(1, args.groups + 1), [int(bench["judged_batch"])], drift_config, source_config)
    print(
        f"Reference: stationary batches 1-{bench['reference_batches']} of each group "
        f"({source_config['generator']['batch_size']} rows each); {args.groups} groups.\n"
    )
    print(goals_table(judged, bench["goals"]))
    reports = len(judged) * args.groups
    if args.delay:
        delays = detect(range(1, args.groups + 1), bench["delay_batches"], drift_config, source_config)
        reports += len(delays) * args.groups
        print("\nShare of batches flagged, by batch number (drift starts at batch 2):\n")
        print(delay_table(delays))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"\n{reports} drift reports (with generation) in {wall:.1f} s wall, {cpu:.1f} s CPU "
        f"({1000 * cpu / reports:.0f} ms CPU each)."
    )
    if not all(r.meets(bench["goals"]) for r in judged):
        raise SystemExit("A detection goal was missed (see the table above); revisit configs/drift.yaml thresholds.")


if __name__ == "__main__":
    main()
