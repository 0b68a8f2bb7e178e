"""The protocol every source follows, and how a source says it has nothing (more) to give."""

from __future__ import annotations

from typing import Protocol

from tasador.schema import Batch


class SourceExhausted(Exception):
    """The source has no batch left for this group (the data API answers HTTP 400)."""


class SourceUnavailable(Exception):
    """The source could not be reached or answered garbage after all retries."""


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
