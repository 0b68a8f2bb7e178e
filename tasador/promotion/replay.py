"""Shadow replay: the challenger prices the requests production served, before it may serve them itself.

The last N rows of the inference log (configs/promotion.yaml `shadow.requests`) are read back as the
service read them (tasador.serving.schemas.Listing) and priced by the challenger; each price is compared
with the price the client was served. The figures (median and 95th percentile of the absolute change, the
share moved more than the threshold) go into the promotion's record, and the guard (tasador.registry.shadow)
can hold a challenger that would move served prices far for little holdout gain.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from pydantic import ValidationError
from sqlalchemy import select

from tasador.configs import ShadowConfig
from tasador.registry.shadow import ShadowReplay
from tasador.store import tables as t

if TYPE_CHECKING:
    from tasador.model.features import Listings
    from tasador.store import Store


class Pricer(Protocol):
    def predict(self, listings: Listings) -> np.ndarray: ...


def served_rows(store: Store, last: int) -> list[tuple[dict[str, Any], float]]:
    """The last `last` priced rows of the inference log, oldest first: (listing as received, price served)."""
    log = t.inference_log.c
    query = select(log.inputs, log.prediction).where(log.prediction.is_not(None)).order_by(log.id.desc()).limit(last)
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [(json.loads(inputs), float(price)) for inputs, price in reversed(rows)]


def replay(challenger: Pricer, served: Sequence[tuple[dict[str, Any], float]], config: ShadowConfig) -> ShadowReplay:
    """The challenger's prices for the served listings against the prices served."""
    from tasador.serving.columns import listings_columns
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
    change = np.abs(challenger.predict(listings_columns(listings)) / served_prices - 1.0) * 100.0
    return ShadowReplay(
        rows=len(listings),
        median_abs_change_pct=float(np.median(change)),
        p95_abs_change_pct=float(np.percentile(change, 95)),
        share_moved=float(np.mean(change > config.moved_threshold_pct)),
        moved_threshold_pct=config.moved_threshold_pct,
    )


def replay_served(store: Store, challenger: Pricer, config: ShadowConfig) -> ShadowReplay:
    return replay(challenger, served_rows(store, config.requests), config)
