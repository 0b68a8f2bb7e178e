"""Model quality on the real 10,000-row sample: challenger, baseline and a plain XGBoost reference.

Cleans the sample with tasador.cleaning.clean.normalise, keeps prices from 1k to 20M, splits 80/20 with
sklearn's train_test_split(random_state=42) and prints R² on log price and median APE per model.
Goals: challenger R²(log) ≥ 0.65 and MdAPE ≤ 25 %.

    python -m benchmarks.quality [--csv ../shared/data/realtor-data.csv] [--nthread 2]
"""

from __future__ import annotations

import math
from pathlib import Path

from benchmarks.harness import arguments, markdown_table
from tests.support.paths import SAMPLE_CSV
from tests.support.quality import quality


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--csv", type=Path, default=SAMPLE_CSV)
    parser.add_argument("--nthread", type=int, help="XGBoost threads (configs/model.yaml when left out)")
    args = parser.parse_args()
    results = quality(args.csv, args.nthread)
    rows = [
        [name, f"{m['r2_log']:.3f}", f"{m['mdape']:.1f}", f"{m['mae']:,.0f}", f"{m.get('train_seconds', math.nan):.1f}"]
        for name, m in results.items()
    ]
    print(markdown_table(["model", "R²(log)", "MdAPE %", "MAE $", "train s"], rows))


if __name__ == "__main__":
    main()
