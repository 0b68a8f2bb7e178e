"""A batch of listings as a source hands it out, and the protocol every source follows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class SourceExhausted(Exception):
    """The source has no batch left for this group (the data API answers HTTP 400)."""


class SourceUnavailable(Exception):
    """The source could not be reached or answered garbage after all retries."""


@dataclass(frozen=True)
class Batch:
    source: str  # stable id of where it came from, e.g. "synthetic:stationary:42" or a data API URL
    group_number: int
    batch_number: int  # as the source numbers it: 0 is a number (some deployments start there)
    rows: list[Any] = field(repr=False)  # as received: objects, or arrays of values in the feed's column order
    day: str | None = None


class BatchSource(Protocol):
    """Hands out the next batch of a group; deterministic for the same sequence of calls."""

    @property
    def name(self) -> str: ...

    def next_batch(self, group_number: int, last_received: int) -> Batch:
        """The batch after `last_received` (the highest batch number already in RAW).

        A server that keeps its own position may ignore `last_received`.
        Raises SourceExhausted when there is none left, SourceUnavailable when unreachable.
        """
        ...
