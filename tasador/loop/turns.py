"""Several turns of the loop in a row, paced to the data API: one batch (or portion) per turn.

A course data API may hand out the same batch number for minutes (its time window), with another portion of
the batch's rows on every call. Each answer goes through the whole loop as its own turn, so storing never
waits on the clock; between turns the run waits, instead of asking again in a tight loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from tasador.configs import ClientOptions
from tasador.results import BatchSummary

#: One turn: the batch's summary (`finish_batch`), None when the turn failed.
Turn = Callable[[], BatchSummary | None]


@dataclass(frozen=True)
class Pace:
    """The `client` section's pacing (configs/datasource.yaml)."""

    min_interval_s: float = 0.0  # at least this long between two requests
    repeat_wait_s: float = 0.0  # after an answer that repeats the last batch number

    @classmethod
    def from_config(cls, client: ClientOptions) -> Pace:
        return cls(client.min_interval_s, client.repeat_wait_s)

    def wait_after(self, summary: BatchSummary, seconds_since_request: float) -> tuple[float, str | None]:
        """How long to wait before the next request after this turn, and why (None: no need to say)."""
        rest_of_interval = max(0.0, self.min_interval_s - seconds_since_request)
        if summary.portion > 1 or summary.redelivered:
            wait = max(self.repeat_wait_s, rest_of_interval)
            return wait, (
                f"batch {summary.batch_number} again: the server has not moved on; next request in {wait:.0f} s"
            )
        if rest_of_interval > 0:
            return rest_of_interval, f"next request in {rest_of_interval:.0f} s (client.min_interval_s)"
        return 0.0, None


def run_turns(
    turn: Turn,
    batches: int | None,
    *,
    pace: Pace,
    say: Callable[[str], None],
    after_turn: Callable[[BatchSummary], None] = lambda _: None,
    stop_requested: Callable[[], str | None] = lambda: None,
) -> bool:
    """Run `batches` turns (None: until the source is exhausted); True when every turn succeeded.

    `after_turn` gets each summary; `say` the waits and the stop; a stop asked for (a signal) ends the run
    between turns, also while it waits.
    """
    done = 0
    while batches is None or done < batches:
        requested_at = time.monotonic()
        summary = turn()
        if summary is None:
            return False
        after_turn(summary)
        if summary.exhausted:
            return True
        done += 1
        more = batches is None or done < batches
        if more and not stop_requested():
            wait, why = pace.wait_after(summary, time.monotonic() - requested_at)
            if why:
                say(why)
            _sleep(wait, stop_requested)
        if more and stop_requested():
            say(f"Stopped by {stop_requested()} after {done} batch(es); run again to go on.")
            return False
    return True


def _sleep(seconds: float, stop_requested: Callable[[], str | None]) -> None:
    deadline = time.monotonic() + seconds
    while not stop_requested() and (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 0.2))
