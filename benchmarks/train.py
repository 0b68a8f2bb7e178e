"""Training time and holdout quality at scale, on synthetic listings from tasador's generator.

    python -m benchmarks.train --rows 100000 1000000 2200000 [--variants final previous max_bin_256 ...]
                               [--device cuda] [--nthread 2] [--write]
    python -m benchmarks.train --rows --write      # only render the stored results into BENCHMARKS.md

Each variant is configs/model.yaml with one change, so the table shows what moves the time: `final`
(the config as is), `previous` (the config before the training-time work: 12 trials at any size,
max_bin 256, patience 30), `trials_12` (the full search at any size), `max_bin_64` / `max_bin_256`,
`max_rows_150k`, `all_rows` (trees see every row), `depth_8_lr_0.1` (no search: one fixed booster),
`plain` (the reference: XGBoost of 500 rounds, depth 8, on the raw columns as pandas categories).
The holdout is the loop's rule (20 % by row hash). Times cover `train_challenger` only (data
generation, cleaning and holdout scoring are not timed); CPU seconds count every thread of the
process, so on a machine shared with others they are the fairer figure. Every result is kept in
benchmarks/results/train.json (one entry per rows × variant × device × threads); `--write` renders
all of them into BENCHMARKS.md's "Training time" section.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.harness import arguments
from tasador.cleaning.clean import row_hashes
from tasador.configs import ModelConfig
from tasador.data_api.generator import generator_from_config
from tasador.model import evaluate, split_holdout, train_challenger
from tasador.settings import Settings
from tests.support.quality import plain_xgboost

Variant = Callable[[dict[str, Any]], dict[str, Any]]  # configs/model.yaml as a dict, changed
UNCAPPED = 10**9
ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks/results/train.json"
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
SECTION = "## Training time (synthetic data)"
NOTES = "<!-- notes below are kept by benchmarks/train.py --write -->"


def _final(config: dict[str, Any]) -> dict[str, Any]:
    return config


def _previous(config: dict[str, Any]) -> dict[str, Any]:
    config["search"].pop("large_data", None)
    config["search"]["n_trials"] = 12
    config["training"]["booster"]["max_bin"] = 256
    config["training"]["early_stopping_rounds"] = 30
    config["training"]["max_rows"] = 300_000
    return config


def _trials_12(config: dict[str, Any]) -> dict[str, Any]:
    config["search"].pop("large_data", None)
    return config


def _max_bin(bins: int) -> Variant:
    def change(config: dict[str, Any]) -> dict[str, Any]:
        config["training"]["booster"]["max_bin"] = bins
        return config

    return change


def _max_rows(rows: int) -> Variant:
    def change(config: dict[str, Any]) -> dict[str, Any]:
        config["training"]["max_rows"] = rows
        return config

    return change


def _fixed_depth_8(config: dict[str, Any]) -> dict[str, Any]:
    config["search"].pop("large_data", None)
    config["search"]["n_trials"] = 1
    config["search"]["space"] = {
        "max_depth": {"low": 8, "high": 8, "type": "int"},
        "learning_rate": {"low": 0.1, "high": 0.1, "type": "float"},
    }
    return config


VARIANTS: dict[str, Variant] = {
    "final": _final,
    "previous": _previous,
    "trials_12": _trials_12,
    "max_bin_64": _max_bin(64),
    "max_bin_256": _max_bin(256),
    "max_rows_150k": _max_rows(150_000),
    "all_rows": _max_rows(UNCAPPED),
    "depth_8_lr_0.1": _fixed_depth_8,
}


def synthetic_clean(rows: int, seed: int) -> pd.DataFrame:
    """Stationary synthetic listings in CLEAN types, with row hashes (a vectorised stand-in for cleaning)."""
    frame = generator_from_config(Settings().configs.datasource, scenario="stationary", seed=seed).batch(1, 1, rows)
    for column in ("brokered_by", "street"):
        frame[column] = _id_text(frame[column])
    frame["zip_code"] = _id_text(frame["zip_code"]).str.zfill(5)
    frame["prev_sold_date"] = pd.to_datetime(frame["prev_sold_date"], format="%Y-%m-%d")
    frame.insert(0, "row_hash", row_hashes(frame))
    return frame[frame["price"] > 0].reset_index(drop=True)


def _id_text(values: pd.Series) -> pd.Series:
    return values.astype("Int64").astype("string").astype(object).where(values.notna(), None)


def run(train: pd.DataFrame, holdout: pd.DataFrame, variant: str, device: str, nthread: int) -> dict[str, Any]:
    """Train one variant; its times, rounds, search trials, CPU per phase and holdout metrics."""
    config = Settings().configs.model.model_dump()
    config["training"]["nthread"] = nthread
    config["training"]["booster"]["device"] = device
    wall, cpu = time.perf_counter(), time.process_time()
    phases: dict[str, float] = {}
    if variant == "plain":
        predict = plain_xgboost(train, nthread, device)
        rounds, trials = 500, 0
    else:
        result = train_challenger(train, ModelConfig.model_validate(VARIANTS[variant](config)), config["seed"])
        predict, rounds = result.predictor.predict, int(result.params["num_boost_round"])
        trials, phases = int(result.params["search_trials"]), result.phase_cpu_seconds
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    metrics = evaluate(predict, holdout)
    return {
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "phase_cpu_s": {k: round(v, 1) for k, v in phases.items()},
        "rounds": rounds,
        "trials": trials,
        "r2_log": round(metrics["r2_log"], 4),
        "mdape": round(metrics["mdape"], 2),
        "train_rows": len(train),
    }


def _key(r: dict[str, Any]) -> tuple[int, str, str, int]:
    return (int(r["rows"]), str(r["variant"]), str(r["device"]), int(r["threads"]))


def save(results: list[dict[str, Any]], path: Path = RESULTS) -> list[dict[str, Any]]:
    """Merge into the stored results (a rerun replaces its entry); all of them, sorted."""
    stored = json.loads(path.read_text()) if path.exists() else []
    merged = {_key(r): r for r in stored} | {_key(r): r for r in results}
    ordered = [merged[k] for k in sorted(merged)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(ordered, indent=1) + "\n")
    return ordered


def row(r: dict[str, Any]) -> str:
    phases = r.get("phase_cpu_s") or {}
    split = " / ".join(f"{phases[p]:.0f}" for p in ("encode", "search", "fit") if p in phases) or "—"
    return (
        f"| {r['rows']:,} | {r['variant']} | {r['device']} | {r['threads']} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} "
        f"| {split} | {r['trials']} | {r['rounds']} | {r['r2_log']:.4f} | {r['mdape']:.2f} | {r['load']} |"
    )


TABLE_HEAD = (
    "| rows | variant | device | threads | wall s | CPU s | CPU s encode / search / fit | trials | rounds "
    "| R²(log) | MdAPE % | load avg (1 min, start→end) |\n|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def render(results: list[dict[str, Any]]) -> str:
    """The "Training time" section: every stored result, and the GPU rows still to take."""
    lines = [
        SECTION,
        "`python -m benchmarks.train --rows 100000 1000000 2200000 --variants final previous ... "
        "--nthread N --write` (results kept in `benchmarks/results/train.json`; dates and machines there).",
        "",
        TABLE_HEAD,
        *(row(r) for r in results),
    ]
    if not any(r["device"] == "cuda" for r in results):
        lines.append("| 100,000 / 1,000,000 / 2,200,000 | final | cuda | — | not measured: no GPU lent | | | | | | | |")
    return "\n".join(lines) + "\n"


def write_section(text: str, path: Path = BENCHMARKS_MD) -> None:
    """Replace the "Training time" section's table with `text`; its notes (after NOTES) and the rest stay."""
    lines = path.read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith(SECTION))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    marker = next((i for i in range(start, end) if lines[i].strip() == NOTES), None)
    notes = "".join(lines[marker:end]) if marker is not None else NOTES + "\n\n"
    path.write_text("".join(lines[:start]) + text + "\n" + notes + "".join(lines[end:]))


def _check_device(device: str) -> None:
    if device == "cuda":
        import xgboost as xgb

        if not xgb.build_info().get("USE_CUDA"):
            raise SystemExit("This XGBoost build has no CUDA support: install the CUDA wheel on the GPU machine.")


def main() -> None:
    parser = arguments(__doc__, write="render all stored results into BENCHMARKS.md")
    parser.add_argument("--rows", type=int, nargs="*", default=[100_000, 1_000_000, 2_200_000])
    parser.add_argument("--variants", nargs="+", default=["final"], choices=[*VARIANTS, "plain"])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--nthread", type=int, default=2)
    parser.add_argument("--seed", type=int, default=42, help="generator seed")
    args = parser.parse_args()
    _check_device(args.device)

    print(TABLE_HEAD, flush=True)
    for rows in args.rows:
        train, holdout = split_holdout(synthetic_clean(rows, args.seed), Settings().configs.model)
        for variant in args.variants:
            load_before = os.getloadavg()[0]
            r = run(train, holdout, variant, args.device, args.nthread)
            r |= {
                "rows": rows,
                "variant": variant,
                "device": args.device,
                "threads": args.nthread,
                "load": f"{load_before:.1f}→{os.getloadavg()[0]:.1f}",
                "date": dt.date.today().isoformat(),
                "machine": f"{platform.node()} ({os.cpu_count()} cores)",
            }
            print(row(r), flush=True)
            save([r])
    if args.write:
        write_section(render(save([])))


if __name__ == "__main__":
    main()
