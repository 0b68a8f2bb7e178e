"""Shadow replay: the challenger prices the requests production served, before it may serve them itself.

The last N rows of the inference log (configs/promotion.yaml `shadow.requests`) are validated as the service
validates a listing and priced by the challenger; each price is compared with the price the client was
served. The figures (median and 95th percentile of the absolute change, the share moved more than the
threshold) go into the promotion's record, and the guard can hold a challenger that would move served
prices far for little holdout gain.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ShadowReplay(BaseModel):
    """How far the challenger would move the prices production served (changes in percent)."""

    model_config = ConfigDict(frozen=True)

    rows: int
    median_abs_change_pct: float
    p95_abs_change_pct: float
    share_moved: float  # fraction of rows whose price moves more than `moved_threshold_pct`
    moved_threshold_pct: float
