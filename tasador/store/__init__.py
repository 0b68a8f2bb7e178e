"""RAW, CLEAN, quarantine and the loop's records."""

from tasador.store.store import BatchRecord, IngestResult, Store

__all__ = ["BatchRecord", "IngestResult", "Store"]
