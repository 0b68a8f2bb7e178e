"""Scripted drift: what each scenario changes in batch k, as plain numbers the generator applies.

A scenario is a list of effects from configs/datasource.yaml (`scenarios:`), each starting at a batch:
`inflation` (prices grow by a rate per batch), `size_shift` (the size mix moves up by a number of standard
deviations per batch, up to a maximum) and `new_state` (a share of listings comes from states held back
until then).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tasador.configs import Effect, Inflation, SizeShift

EFFECTS = ("inflation", "size_shift", "new_state")


@dataclass(frozen=True)
class Drift:
    """How batch k differs from the calibrated world."""

    log_price_shift: float = 0.0
    size_shift: float = 0.0  # in standard deviations of the size score
    new_state_share: float = 0.0
    new_states: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    name: str
    effects: tuple[Effect, ...]

    def drift(self, batch_number: int) -> Drift:
        log_price_shift = size_shift = new_share = 0.0
        new_states: tuple[str, ...] = ()
        for effect in self.effects:
            steps = batch_number - effect.start_batch + 1  # the start batch is the first drifted one
            if steps <= 0:
                continue
            if isinstance(effect, Inflation):
                log_price_shift += steps * math.log1p(effect.rate_per_batch)
            elif isinstance(effect, SizeShift):
                size_shift += min(steps * effect.shift_per_batch, effect.max_shift)
            else:
                new_share = effect.share
                new_states = tuple(effect.states)
        return Drift(log_price_shift, size_shift, new_share, new_states)


def load_scenario(name: str, scenarios: Mapping[str, Sequence[Effect]]) -> Scenario:
    """The scenario `name` from the `scenarios` section of configs/datasource.yaml (its effects checked there)."""
    if name not in scenarios:
        raise ValueError(f"Unknown scenario {name!r}: choose one of {', '.join(scenarios)} (configs/datasource.yaml).")
    return Scenario(name, tuple(scenarios[name]))
