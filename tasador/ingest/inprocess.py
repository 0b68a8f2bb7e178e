"""The in-process source: the batches the data API would hand out for the same config, without HTTP.

It keeps no position of its own: the caller passes the highest batch number already in RAW, so the
position lives in RAW and a run that failed simply asks again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasador.ingest.batch import SourceExhausted
from tasador.schema import Batch

if TYPE_CHECKING:
    from tasador.data_api.feeds import Feed


class InProcessSource:
    def __init__(self, feed: Feed) -> None:
        self._feed = feed

    @property
    def name(self) -> str:
        return self._feed.name

    def next_batch(self, group_number: int, last_received: int) -> Batch:
        batch_number = last_received + 1
        if batch_number > self._feed.batch_count:
            raise SourceExhausted(
                f"{self.name} has no batch after {last_received} for group {group_number} "
                f"({self._feed.batch_count} in all): raise `generator.batches` in configs/datasource.yaml "
                "(a CSV has as many batches as its rows allow), or use another group."
            )
        return Batch(self.name, group_number, batch_number, self._feed.rows(group_number, batch_number))
