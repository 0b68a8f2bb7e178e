"""The continuous-training loop, stage by stage, as plain functions the ZenML steps call.

Each function takes the store and settings it needs and returns a small JSON-safe dict, so that a
step is a one-liner and the whole loop can be tested without ZenML.
"""

from tasador.loop.data import clean, validate
from tasador.loop.ingest import next_batch, store_raw_batch

__all__ = ["clean", "next_batch", "store_raw_batch", "validate"]
