"""Where the checkout and the real sample are."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# A checkout beside ../shared finds the sample there; a worktree elsewhere names it in TASADOR_SAMPLE_CSV.
SAMPLE_CSV = Path(os.environ.get("TASADOR_SAMPLE_CSV") or REPO_ROOT.parent / "shared" / "data" / "realtor-data.csv")
