"""A shadow replay's figures as the registry keeps them: the model, the guard that may hold a challenger, its tags.

The replay itself (the challenger pricing the requests production served) is the promotion stage's
(tasador/promotion/replay.py); its figures go into the promotion's record and the alias move's.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from tasador.configs import ShadowGuard


class ShadowReplay(BaseModel):
    """How far the challenger would move the prices production served (changes in percent)."""

    model_config = ConfigDict(frozen=True)

    rows: int  # served rows replayed
    median_abs_change_pct: float
    p95_abs_change_pct: float
    share_moved: float  # fraction of rows whose price moves more than `moved_threshold_pct`
    moved_threshold_pct: float

    def summary(self) -> str:
        """The figures in one line, as the history shows them."""
        if self.rows == 0:
            return "no served requests to replay"
        return (
            f"median {self.median_abs_change_pct:.1f}%, p95 {self.p95_abs_change_pct:.1f}%, "
            f"{self.share_moved:.0%} moved > {self.moved_threshold_pct:g}% ({self.rows} rows)"
        )


def hold_reason(shadow: ShadowReplay, gain: float, guard: ShadowGuard | None) -> str | None:
    """Why the challenger is held (it moves served prices far for a small gain), or None."""
    if guard is None or shadow.rows == 0 or shadow.p95_abs_change_pct <= guard.max_p95_change_pct:
        return None
    if gain >= guard.min_gain:
        return None
    return (
        f"held by the shadow replay: the 95th percentile of {shadow.rows} served prices would move "
        f"{shadow.p95_abs_change_pct:.1f}% (more than {guard.max_p95_change_pct:g}%) for a {gain:.1%} gain "
        f"(less than {guard.min_gain:.0%})"
    )


def shadow_tags(shadow: ShadowReplay) -> dict[str, str]:
    """The figures as tags of the judged version."""
    return {
        "shadow_rows": str(shadow.rows),
        "shadow_median_abs_change_pct": f"{shadow.median_abs_change_pct:.4g}",
        "shadow_p95_abs_change_pct": f"{shadow.p95_abs_change_pct:.4g}",
        "shadow_share_moved": f"{shadow.share_moved:.4g}",
    }
