"""A batch read from RAW and parsed once, for both stages that need it (validate, then clean).

Validation and cleaning each need the batch's rows read back from RAW and parsed into typed columns:
about 0.8 s per 100k rows on PostgreSQL, a fifth of a batch's cost, paid twice when each stage did its
own. RAW rows never change once stored, so when both stages run in one process (the local orchestrator,
the benchmarks) the second stage takes the first one's result. Across processes (Airflow, Kubernetes)
each stage reads RAW itself, as before: the cache is an optimisation, never a way for data to travel.

One batch is kept, keyed by database, batch id, checksum, arrival time and the parsing settings, so a
database recreated with the same ids, or another cleaning config, never gets a stale answer.

A batch need not even be read back: `store_and_parse` parses the JSON texts RAW receives while the
database writes them (0.8 s of our CPU per 100k rows that overlaps about as much of the server's), and
keeps that parse. It is the parse a read of RAW would give, since it reads the very texts RAW holds.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from tasador.cleaning.parsing import ParsedRows, parse_texts
from tasador.configs import CleaningConfig

if TYPE_CHECKING:
    from tasador.ingest.batch import Batch
    from tasador.store import Store
    from tasador.store.store import IngestResult

log = logging.getLogger(__name__)

_PARSING_KEYS = ("missing_tokens", "reason_value_chars")  # what `parse_rows` reads of configs/cleaning.yaml


class _LastBatch:
    """The most recently parsed batch (one entry: memory stays one batch)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[Any, ...] | None = None
        self._parsed: ParsedRows | None = None

    def get(self, key: tuple[Any, ...]) -> ParsedRows | None:
        with self._lock:
            return self._parsed if key == self._key else None

    def put(self, key: tuple[Any, ...], parsed: ParsedRows) -> None:
        with self._lock:
            self._key, self._parsed = key, parsed

    def clear(self) -> None:
        with self._lock:
            self._key, self._parsed = None, None


_last = _LastBatch()


def parsed_batch(store: Store, batch_id: int, config: CleaningConfig) -> ParsedRows:
    """The batch's RAW rows parsed with `config` (configs/cleaning.yaml); read from RAW unless just parsed.

    The result is shared: callers must not modify its frame or series.
    """
    key = _key(store, batch_id, config)
    parsed = _last.get(key)
    if parsed is None:
        parsed = parse_texts(*store.raw_texts(batch_id), config)
        _last.put(key, parsed)
    return parsed


def store_and_parse(store: Store, batch: Batch, config: CleaningConfig) -> IngestResult:
    """`Store.ingest_raw`, parsing the rows' texts while the database writes them; the parse is kept for
    `parsed_batch`, so validate and clean need not read the batch back from RAW."""
    parses: list[ParsedRows] = []

    def parse(texts: list[str]) -> None:
        # Row indices stand in for the raw row ids, which exist once the rows are written.
        try:
            parses.append(parse_texts(range(len(texts)), texts, config))
        except Exception:  # the parse only saves a read: RAW is stored anyway, and validate parses it again
            log.warning(
                "Could not parse batch %s while storing it; validation reads it from RAW.",
                batch.batch_number,
                exc_info=True,
            )

    result = store.ingest_raw(batch, while_writing=parse)
    if parses:
        parsed = parses[0]
        parsed.frame["raw_row_id"] = store.raw_row_ids(result.batch_id)
        _last.put(_key(store, result.batch_id, config), parsed)
    return result


def _key(store: Store, batch_id: int, config: CleaningConfig) -> tuple[Any, ...]:
    record = store.batch(batch_id)
    settings = config.model_dump_json(include=set(_PARSING_KEYS))
    return (store.url, batch_id, record.checksum, record.received_at, record.row_count, settings)


def forget() -> None:
    """Drop the kept batch (its memory goes back once nobody else holds it)."""
    _last.clear()
