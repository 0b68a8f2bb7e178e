"""Training time and holdout quality at scale, on synthetic listings from tasador's generator.

    python -m benchmarks.train --rows 100000 1000000 2200000 [--variants final all_rows max_bin_64 plain]
                               [--device cuda] [--nthread 2]

Each variant is configs/model.yaml with one change, so the table shows what moves the time:
`final` (the config as is), `all_rows` (trees see every row: no `training.max_rows` cap),
`max_bin_64`, `depth_8_lr_0.1` (no search: one fixed booster), `plain` (the reference: XGBoost of 500
rounds, depth 8, on the raw columns as pandas categories, no encodings). The holdout is the loop's
rule (20 % by row hash). Prints Markdown rows for BENCHMARKS.md; wall and CPU seconds of training
only (data generation and cleaning are not timed). On a shared machine CPU seconds are the fairer figure.
"""

from __future__ import annotations

import argparse
import copy
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from benchmarks.quality import plain_xgboost
from tasador.cleaning import row_hashes
from tasador.datasource.generator import generator_from_config
from tasador.model import evaluate, split_holdout, train_challenger
from tasador.settings import load_config

Variant = Callable[[dict[str, Any]], dict[str, Any]]
UNCAPPED = 10**9


def _final(config: dict[str, Any]) -> dict[str, Any]:
    return config


def _all_rows(config: dict[str, Any]) -> dict[str, Any]:
    config["training"]["max_rows"] = UNCAPPED
    return config


def _max_bin_64(config: dict[str, Any]) -> dict[str, Any]:
    config["training"]["booster"]["max_bin"] = 64
    return config


def _fixed_depth_8(config: dict[str, Any]) -> dict[str, Any]:
    config["search"]["n_trials"] = 1
    config["search"]["space"] = {
        "max_depth": {"low": 8, "high": 8, "type": "int"},
        "learning_rate": {"low": 0.1, "high": 0.1, "type": "float"},
    }
    return config


VARIANTS: dict[str, Variant] = {
    "final": _final,
    "all_rows": _all_rows,
    "max_bin_64": _max_bin_64,
    "depth_8_lr_0.1": _fixed_depth_8,
}


def synthetic_clean(rows: int, seed: int) -> pd.DataFrame:
    """Stationary synthetic listings in CLEAN types, with row hashes (a vectorised stand-in for cleaning)."""
    frame = generator_from_config(load_config("datasource"), scenario="stationary", seed=seed).batch(1, 1, rows)
    for column in ("brokered_by", "street"):
        frame[column] = _id_text(frame[column])
    frame["zip_code"] = _id_text(frame["zip_code"]).str.zfill(5)
    frame["prev_sold_date"] = pd.to_datetime(frame["prev_sold_date"], format="%Y-%m-%d")
    frame.insert(0, "row_hash", row_hashes(frame))
    return frame[frame["price"] > 0].reset_index(drop=True)


def _id_text(values: pd.Series) -> pd.Series:
    return values.astype("Int64").astype("string").astype(object).where(values.notna(), None)


def run(train: pd.DataFrame, holdout: pd.DataFrame, variant: str, device: str, nthread: int) -> dict[str, Any]:
    config = copy.deepcopy(load_config("model"))
    config["training"]["nthread"] = nthread
    config["training"]["booster"]["device"] = device
    wall, cpu = time.perf_counter(), time.process_time()
    if variant == "plain":
        predict = plain_xgboost(train, nthread, device)
        rounds = "500"
    else:
        result = train_challenger(train, VARIANTS[variant](config), int(config["seed"]))
        predict, rounds = result.predictor.predict, str(result.params["num_boost_round"])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"wall": wall, "cpu": cpu, "rounds": rounds, **evaluate(predict, holdout)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000, 2_200_000])
    parser.add_argument("--variants", nargs="+", default=["final"], choices=[*VARIANTS, "plain"])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--nthread", type=int, default=2)
    parser.add_argument("--seed", type=int, default=42, help="generator seed")
    args = parser.parse_args()

    print("| rows | variant | device | threads | train wall s | train CPU s | rounds | R²(log) | MdAPE % |")
    print("|---|---|---|---|---|---|---|---|---|")
    for rows in args.rows:
        train, holdout = split_holdout(synthetic_clean(rows, args.seed), load_config("model"))
        for variant in args.variants:
            r = run(train, holdout, variant, args.device, args.nthread)
            print(
                f"| {rows:,} | {variant} | {args.device} | {args.nthread} | {r['wall']:.1f} | {r['cpu']:.1f} "
                f"| {r['rounds']} | {r['r2_log']:.3f} | {r['mdape']:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
