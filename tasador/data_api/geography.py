"""The synthetic map: zip codes, cities, brokers and location price effects per state.

Built once from the calibration and the `world` section of configs/datasource.yaml with its own seed, so
every generator seed draws listings from the same places: a model trained on one batch can learn location
and use it on the next.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tasador.configs import WorldOptions

# Place names are made up from these parts ("Cedarbrook", "Port Millford"): no real city list is shipped.
_NAME_STARTS = (
    "Ash",
    "Bay",
    "Beech",
    "Birch",
    "Brook",
    "Cedar",
    "Clear",
    "Cliff",
    "Crest",
    "Deer",
    "Eagle",
    "Elm",
    "Fair",
    "Fox",
    "Glen",
    "Green",
    "Hazel",
    "High",
    "Holly",
    "Iron",
    "Lake",
    "Laurel",
    "Lin",
    "Maple",
    "Marsh",
    "Mead",
    "Mill",
    "Oak",
    "Orchard",
    "Pine",
    "Red",
    "River",
    "Rock",
    "Rose",
    "Sand",
    "Silver",
    "Spring",
    "Stone",
    "Summer",
    "Sun",
    "Timber",
    "Water",
    "West",
    "White",
    "Willow",
    "Wolf",
)
_NAME_ENDS = (
    "bury",
    "brook",
    "dale",
    "field",
    "ford",
    "gate",
    "haven",
    "hurst",
    "land",
    "mont",
    "moor",
    "port",
    "ridge",
    "side",
    "stead",
    "ton",
    "vale",
    "view",
    "ville",
    "wick",
    "wood",
    "worth",
)
_NAME_PREFIXES = ("", "", "", "", "North ", "South ", "East ", "West ", "New ", "Port ", "Mount ", "Fort ")


@dataclass(frozen=True)
class World:
    """Places as parallel arrays; a state's zip codes (and brokers) are one contiguous block."""

    states: tuple[str, ...]
    state_level: np.ndarray  # calibrated mean log price per state
    state_share: np.ndarray  # calibrated share of listings per state
    zip_state: np.ndarray  # state index of each zip code
    zip_code: np.ndarray  # float, as the feed writes it (2127.0 for 02127)
    zip_city: np.ndarray  # city name of each zip code
    zip_effect: np.ndarray  # location effect on log price
    zip_pick: np.ndarray  # state index + cumulative popularity within the state, for picking by uniforms
    broker_id: np.ndarray
    broker_pick: np.ndarray

    def state_index(self, names: tuple[str, ...]) -> np.ndarray:
        unknown = set(names) - set(self.states)
        if unknown:
            raise ValueError(f"State(s) {sorted(unknown)} are not in the calibration; pick from {list(self.states)}.")
        return np.array([self.states.index(n) for n in names], dtype=np.int64)


def build_world(calibration: dict[str, Any], options: WorldOptions) -> World:
    """The map for `calibration` and the `world` options (its seed fixes every place and effect)."""
    rng = np.random.default_rng(int(options.seed))
    states = tuple(calibration["states"])
    info = [calibration["states"][s] for s in states]
    share = np.array([s["share"] for s in info])
    zip_counts = np.maximum(int(options.min_zips_per_state), np.rint(share * options.zip_codes).astype(int))
    location_var = calibration["price_model"]["residual_sd"] ** 2 * options.location_share_of_residual
    area_sd = np.sqrt(location_var * options.zip3_share_of_location)
    zip_sd = np.sqrt(location_var * (1 - options.zip3_share_of_location))

    codes_by_state = _zip_codes(rng, info, zip_counts)
    zip_state, zip_code, zip_city, zip_effect, zip_pick = [], [], [], [], []
    for index, codes in enumerate(codes_by_state):
        areas, area_of_zip = np.unique(codes // 100, return_inverse=True)
        effects = rng.normal(0, area_sd, len(areas))[area_of_zip] + rng.normal(0, zip_sd, len(codes))
        zip_state.append(np.full(len(codes), index))
        zip_code.append(codes.astype(float))
        zip_city.append(_cities(rng, len(codes), int(options.zips_per_city)))
        zip_effect.append(effects - effects.mean())  # the state's level stays its calibrated mean
        zip_pick.append(index + cumulative(rng.dirichlet(np.full(len(codes), options.zip_popularity_concentration))))

    broker_counts = np.maximum(1, np.rint(share * options.brokers).astype(int))
    low, high = calibration["id_ranges"]["brokered_by"]
    broker_ids = rng.choice(np.arange(low, high + 1), size=int(broker_counts.sum()), replace=False).astype(float)
    ranks = np.concatenate([np.arange(1, c + 1) for c in broker_counts])
    weights = ranks ** -float(options.broker_popularity_exponent)
    bounds = np.concatenate([[0], np.cumsum(broker_counts)])
    broker_pick = np.concatenate([i + cumulative(weights[bounds[i] : bounds[i + 1]]) for i in range(len(states))])
    return World(
        states=states,
        state_level=np.array([s["log_price_level"] for s in info]),
        state_share=share / share.sum(),
        zip_state=np.concatenate(zip_state),
        zip_code=np.concatenate(zip_code),
        zip_city=np.concatenate(zip_city),
        zip_effect=np.concatenate(zip_effect),
        zip_pick=np.concatenate(zip_pick),
        broker_id=broker_ids,
        broker_pick=broker_pick,
    )


def pick(cumulative: np.ndarray, state: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    """Index into a per-state block of `cumulative` (see World.zip_pick) for each row's state and uniform."""
    index = np.searchsorted(cumulative, state + uniform, side="right")
    # Rounding near a block's end could step into the next state's block.
    return np.minimum(index, np.searchsorted(cumulative, state + 1.0, side="left"))


def cumulative(weights: np.ndarray) -> np.ndarray:
    cum = np.cumsum(weights)
    return cum / cum[-1]


def _zip_codes(rng: np.random.Generator, states: list[dict[str, Any]], counts: np.ndarray) -> list[np.ndarray]:
    """Distinct zip codes per state within its calibrated range; ranges can overlap (Maryland inside
    Virginia's), so states with narrower ranges choose first and no code is given twice."""
    taken = np.zeros(100_000, dtype=bool)  # one flag per five-digit code
    chosen: dict[int, np.ndarray] = {}
    for index in sorted(range(len(states)), key=lambda i: states[i]["zip_high"] - states[i]["zip_low"]):
        span = np.arange(states[index]["zip_low"], states[index]["zip_high"] + 1)
        free = span[~taken[span]]
        codes = np.sort(rng.choice(free, size=min(int(counts[index]), len(free)), replace=False))
        taken[codes] = True
        chosen[index] = codes
    return [chosen[i] for i in range(len(states))]


def _cities(rng: np.random.Generator, zip_count: int, zips_per_city: int) -> np.ndarray:
    """City names for a state's zip codes in order: neighbouring zip codes share a city."""
    city_count = max(1, -(-zip_count // zips_per_city))
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < city_count:
        name = str(rng.choice(_NAME_PREFIXES)) + str(rng.choice(_NAME_STARTS)) + str(rng.choice(_NAME_ENDS))
        if name not in seen:
            seen.add(name)
            names.append(name)
    return np.array(names, dtype=object)[np.arange(zip_count) * city_count // zip_count]
