"""Seeded synthetic listings with the feed's 12 columns, calibrated on the real sample.

Batch k of group g is a pure function of (seed, scenario, g, k): chunk c of it is drawn from
`default_rng([seed, g, k, c])`, so any batch can be made again without making the ones before it, and a
batch of millions of rows streams chunk by chunk in bounded memory. Every scenario draws the same random
numbers, so a drifted batch differs from the stationary one only by its scenario's effects.

How a listing is made: a state (by its calibrated share), a zip code and broker in it (by popularity), a
status; size, bed, bath and lot through a Gaussian copula with the sample's correlations and marginals;
lots without a house (a fifth of the sample) have no size, bed or bath. Log price is the state's level,
plus the zip code's location effect, plus the calibrated effects of the features and status, plus
Student-t noise; a small share are placeholder prices from 1 up.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr

from tasador.configs import DatasourceConfig, WorldOptions
from tasador.data_api.geography import World, build_world, cumulative, pick
from tasador.data_api.scenarios import Drift, Scenario, load_scenario
from tasador.schema import COLUMNS

#: Statistics of the real sample (written by `datasource calibrate`, see calibrate.py): no rows.
CALIBRATION_PATH = Path(__file__).with_name("calibration.json")
#: The property features drawn through a Gaussian copula (normal scores), in this order.
COPULA_FEATURES: tuple[str, ...] = ("house_size", "bed", "bath", "acre_lot")
#: A lot without a house has none of these.
HOUSE_FIELDS: tuple[str, ...] = ("bed", "bath", "house_size")
_SIZE, _BED, _BATH, _ACRE = (COPULA_FEATURES.index(f) for f in ("house_size", "bed", "bath", "acre_lot"))


@dataclass(frozen=True)
class _Marginals:
    """Inverse CDFs as (probabilities, values); size and lot in logs so interpolation keeps their skew."""

    probs: np.ndarray
    log_size: np.ndarray
    bed: np.ndarray
    bath: np.ndarray
    log_acre: np.ndarray
    log_land_acre: np.ndarray
    days_before: np.ndarray
    low_price: np.ndarray


class ListingGenerator:
    """Makes batches of listings for one seed and scenario."""

    def __init__(
        self,
        calibration: dict[str, Any],
        world: World,
        world_options: WorldOptions,
        scenario: Scenario,
        held_back_states: tuple[str, ...],
        seed: int,
        chunk_rows: int,
    ) -> None:
        self.scenario = scenario
        self.seed = seed
        self.chunk_rows = chunk_rows
        self._world = world
        self._options = world_options
        self._cal = calibration
        self._marginals = _marginals(calibration, int(world_options.acre_lot_decimals))
        correlation = np.array(calibration["copula_correlation"])
        self._copula = np.linalg.cholesky(correlation)
        # Shifting the size score moves bed, bath and lot along with it, by their correlation with size.
        self._size_direction = correlation[_SIZE]
        model = calibration["price_model"]
        self._coef = np.array([model["coefficients"][f] for f in COPULA_FEATURES])
        df = float(world_options.residual_t_df)
        # Student-t noise scaled to the calibrated variance, less the part the zip codes' location carries.
        unexplained = 1 - world_options.location_share_of_residual
        self._house_noise_sd = np.sqrt(model["residual_sd"] ** 2 * unexplained * (df - 2) / df)
        land_model = calibration["land_price_model"]
        location_var = model["residual_sd"] ** 2 * world_options.location_share_of_residual
        lot_var = (land_model["residual_sd"] * world_options.lot_residual_scale) ** 2
        self._land_noise_sd = np.sqrt(max(0.0, lot_var - location_var))
        self._statuses = np.array(list(calibration["status_shares"]), dtype=object)
        self._status_cum = cumulative(np.array(list(calibration["status_shares"].values())))
        offsets = calibration["status_log_price_offset"]
        self._status_offset = np.array([offsets.get(s, 0.0) for s in self._statuses])
        base = world.state_share.copy()
        base[world.state_index(held_back_states)] = 0.0
        self._state_cum = cumulative(base)
        self._missing = _missing_rates(calibration)
        # Formatting dates row by row is slow: look them up among every date the calibration allows.
        reference: np.datetime64 = np.datetime64(calibration["prev_sold_reference_date"], "D")
        days = np.arange(int(np.ceil(self._marginals.days_before.max())) + 1).astype("timedelta64[D]")
        self._date_strings = np.datetime_as_string(reference - days, unit="D").astype(object)

    def batch(self, group: int, batch_number: int, rows: int) -> pd.DataFrame:
        """Batch `batch_number` (from 1) of `group` with `rows` listings, in one frame."""
        chunks = list(self.iter_batch(group, batch_number, rows))
        return pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]

    def iter_batch(self, group: int, batch_number: int, rows: int) -> Iterator[pd.DataFrame]:
        """The same batch as `batch`, as frames of at most `chunk_rows` rows (memory stays bounded)."""
        drift = self.scenario.drift(batch_number)
        for chunk, start in enumerate(range(0, max(rows, 1), self.chunk_rows)):
            rng = np.random.default_rng([self.seed, group, batch_number, chunk])
            yield self._listings(rng, min(self.chunk_rows, rows - start), drift)

    def _listings(self, rng: np.random.Generator, n: int, drift: Drift) -> pd.DataFrame:
        w, m, cal = self._world, self._marginals, self._cal
        # Every draw happens in every scenario, in this order, so the scenarios share their randomness.
        u = rng.random((n, 9))
        scores = rng.standard_normal((n, len(COPULA_FEATURES))) @ self._copula.T
        house_noise = rng.standard_t(self._options.residual_t_df, n) * self._house_noise_sd
        lot_noise = rng.standard_normal(n) * self._land_noise_sd  # lot prices are wide already, not heavy-tailed
        absent = rng.random((n, len(COLUMNS)))
        street_low, street_high = cal["id_ranges"]["street"]
        street = rng.integers(street_low, street_high + 1, n).astype(float)

        state = self._states(u[:, 0], u[:, 1], u[:, 2], drift)
        zip_index = pick(w.zip_pick, state, u[:, 3])
        broker = w.broker_id[pick(w.broker_pick, state, u[:, 4])]
        status_index = np.searchsorted(self._status_cum, u[:, 5], side="right")
        land = u[:, 6] < cal["land_share"]
        scores += drift.size_shift * self._size_direction
        quantile = ndtr(scores)

        house_size = np.rint(np.exp(np.interp(quantile[:, _SIZE], m.probs, m.log_size)))
        bed = np.maximum(1.0, np.rint(np.interp(quantile[:, _BED], m.probs, m.bed)))
        bath = np.maximum(1.0, np.rint(np.interp(quantile[:, _BATH], m.probs, m.bath)))
        lot = np.where(
            land,
            np.interp(quantile[:, _ACRE], m.probs, m.log_land_acre),
            np.interp(quantile[:, _ACRE], m.probs, m.log_acre),
        )
        acre_lot = np.round(np.exp(lot), int(self._options.acre_lot_decimals))

        lots = cal["land_price_model"]
        log_price = (
            w.state_level[state]
            + w.zip_effect[zip_index]
            + self._status_offset[status_index]
            + np.where(land, lots["offset"] + lots["acre_coefficient"] * scores[:, _ACRE], scores @ self._coef)
            + np.where(land, lot_noise, house_noise)
            + drift.log_price_shift
        )
        price = self._prices(log_price, u[:, 7])

        frame = {
            "brokered_by": broker,
            "status": self._statuses[status_index],
            "price": price,
            "bed": np.where(land, np.nan, bed),
            "bath": np.where(land, np.nan, bath),
            "acre_lot": acre_lot,
            "street": street,
            "city": w.zip_city[zip_index],
            "state": np.array(w.states, dtype=object)[state],
            "zip_code": w.zip_code[zip_index],
            "house_size": np.where(land, np.nan, house_size),
            "prev_sold_date": self._sold_dates(u[:, 8]),
        }
        for position, column in enumerate(COLUMNS):
            frame[column] = _with_missing(frame[column], absent[:, position] < self._missing[column])
        return pd.DataFrame(frame, columns=list(COLUMNS))

    def _states(self, u_base: np.ndarray, u_new: np.ndarray, u_pick: np.ndarray, drift: Drift) -> np.ndarray:
        state = np.searchsorted(self._state_cum, u_base, side="right")
        if drift.new_state_share > 0:
            new_states = self._world.state_index(drift.new_states)
            newcomers = u_new < drift.new_state_share
            cum = cumulative(self._world.state_share[new_states])
            state[newcomers] = new_states[np.searchsorted(cum, u_pick[newcomers], side="right")]
        return state

    def _prices(self, log_price: np.ndarray, uniform: np.ndarray) -> np.ndarray:
        step = float(self._options.price_round_to)
        listed = np.maximum(step, np.rint(np.exp(log_price) / step) * step)
        # Placeholder prices (1, 500, 3,500 ...) are drawn from their own calibrated distribution; `uniform`
        # is reused, rescaled, because the placeholder rows are exactly those where it fell under the share.
        share = self._cal["price_model"]["low_price_share"]
        placeholder = uniform < share
        low = np.rint(np.interp(np.minimum(uniform / share, 1.0), self._marginals.probs, self._marginals.low_price))
        return np.where(placeholder, np.maximum(1.0, low), listed)

    def _sold_dates(self, uniform: np.ndarray) -> np.ndarray:
        days = np.rint(np.interp(uniform, self._marginals.probs, self._marginals.days_before)).astype(np.int64)
        return self._date_strings[days]


def generator_from_config(
    config: DatasourceConfig, *, scenario: str | None = None, seed: int | None = None
) -> ListingGenerator:
    """A generator for configs/datasource.yaml, with the scenario and seed optionally overridden."""
    gen = config.generator
    calibration = load_calibration()
    return ListingGenerator(
        calibration=calibration,
        world=build_world(calibration, config.world),
        world_options=config.world,
        scenario=load_scenario(scenario or gen.scenario, config.scenarios),
        held_back_states=tuple(config.held_back_states),
        seed=gen.seed if seed is None else seed,
        chunk_rows=gen.chunk_rows,
    )


def load_calibration(path: Path = CALIBRATION_PATH) -> dict[str, Any]:
    if not path.exists():
        raise FileNotFoundError(
            f"Calibration {path} is missing: run `python run.py datasource calibrate --csv PATH` on a realtor CSV."
        )
    return json.loads(path.read_text())


def _marginals(calibration: dict[str, Any], acre_decimals: int) -> _Marginals:
    q = {k: np.array(v, dtype=float) for k, v in calibration["quantiles"].items()}
    smallest_lot = 10.0**-acre_decimals  # a lot listed as 0.00 acres would have no logarithm
    return _Marginals(
        probs=np.array(calibration["quantile_probs"]),
        log_size=np.log(q["house_size"]),
        bed=q["bed"],
        bath=q["bath"],
        log_acre=np.log(np.maximum(q["acre_lot"], smallest_lot)),
        log_land_acre=np.log(np.maximum(q["land_acre_lot"], smallest_lot)),
        days_before=q["prev_sold_days_before_reference"],
        low_price=np.array(calibration["price_model"]["low_price_quantiles"]),
    )


def _missing_rates(calibration: dict[str, Any]) -> dict[str, float]:
    """Per-column chance of a missing value on top of lots, which never have size, bed or bath."""
    rates = dict(calibration["missing_rates"])
    land = calibration["land_share"]
    for column in HOUSE_FIELDS:
        rates[column] = max(0.0, (rates[column] - land) / (1 - land))
    return rates


def _with_missing(values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    if not missing.any():
        return values
    if values.dtype == object:
        values = values.copy()
        values[missing] = np.nan
        return values
    return np.where(missing, np.nan, values)
