"""Shadow replay: the challenger prices the requests production served, before it may serve them itself.

The last N rows of the inference log (configs/promotion.yaml `shadow.requests`) are read back as the
service read them (tasador.serving.schemas.Listing) and priced by the challenger; each price is compared
with the price the client was served. The figures (median and 95th percentile of the absolute change, the
share moved more than the threshold) go into the promotion's record, and the guard can hold a challenger
that would move served prices far for little holdout gain.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import select

from tasador.configs import ShadowConfig, ShadowGuard
from tasador.store import tables as t

if TYPE_CHECKING:
    import pandas as pd

    from tasador.store import Store


class Pricer(Protocol):
    def predict(self, df: pd.DataFrame) -> np.ndarray: ...


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


def served_rows(store: Store, last: int) -> list[tuple[dict[str, Any], float]]:
    """The last `last` priced rows of the inference log, oldest first: (listing as received, price served)."""
    log = t.inference_log.c
    query = select(log.inputs, log.prediction).where(log.prediction.is_not(None)).order_by(log.id.desc()).limit(last)
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [(json.loads(inputs), float(price)) for inputs, price in reversed(rows)]


def replay(challenger: Pricer, served: Sequence[tuple[dict[str, Any], float]], config: ShadowConfig) -> ShadowReplay:
    """The challenger's prices for the served listings against the prices served."""
    from tasador.serving.frames import listings_frame
    from tasador.serving.schemas import Listing

    listings, prices = [], []
    for inputs, price in served:
        try:  # a row the service priced passed this check then; one that does not now (a schema change) is left out
            listings.append(Listing.model_validate(inputs))
        except ValidationError:
            continue
        prices.append(price)
    if not listings:
        return ShadowReplay(
            rows=0,
            median_abs_change_pct=0.0,
            p95_abs_change_pct=0.0,
            share_moved=0.0,
            moved_threshold_pct=config.moved_threshold_pct,
        )
    served_prices = np.asarray(prices)
    change = np.abs(challenger.predict(listings_frame(listings)) / served_prices - 1.0) * 100.0
    return ShadowReplay(
        rows=len(listings),
        median_abs_change_pct=float(np.median(change)),
        p95_abs_change_pct=float(np.percentile(change, 95)),
        share_moved=float(np.mean(change > config.moved_threshold_pct)),
        moved_threshold_pct=config.moved_threshold_pct,
    )


def replay_served(store: Store, challenger: Pricer, config: ShadowConfig) -> ShadowReplay:
    return replay(challenger, served_rows(store, config.requests), config)


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
