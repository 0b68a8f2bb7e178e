"""The listing schema shared by every part of tasador (feed, stores, validation, model, service), a batch as a
source hands it out, the statuses of a batch and the names of a model's metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

TARGET: Final = "price"

#: The 12 columns of the realtor.com feed, in the feed's order.
COLUMNS: Final[tuple[str, ...]] = (
    "brokered_by",
    "status",
    "price",
    "bed",
    "bath",
    "acre_lot",
    "street",
    "city",
    "state",
    "zip_code",
    "house_size",
    "prev_sold_date",
)

#: Columns a prediction request carries: everything but the target.
FEATURE_COLUMNS: Final[tuple[str, ...]] = tuple(c for c in COLUMNS if c != TARGET)

NUMERIC_COLUMNS: Final[tuple[str, ...]] = ("price", "bed", "bath", "acre_lot", "house_size")
#: Integer-coded ids and free text: categories, stored as strings once clean.
CATEGORICAL_COLUMNS: Final[tuple[str, ...]] = (
    "brokered_by",
    "status",
    "street",
    "city",
    "state",
    "zip_code",
)
DATE_COLUMNS: Final[tuple[str, ...]] = ("prev_sold_date",)

#: How a person names each column (the app's form and charts, the reports).
COLUMN_LABELS: Final[dict[str, str]] = {
    "brokered_by": "Broker",
    "status": "Status",
    "price": "Price",
    "bed": "Bedrooms",
    "bath": "Bathrooms",
    "acre_lot": "Lot (acres)",
    "street": "Street",
    "city": "City",
    "state": "State",
    "zip_code": "Zip code",
    "house_size": "House size (sq ft)",
    "prev_sold_date": "Previously sold on",
}

STATUSES: Final[tuple[str, ...]] = ("for_sale", "sold", "ready_to_build")

#: States and territories as the feed names them (full names).
STATES: Final[tuple[str, ...]] = (
    "Alabama",
    "Alaska",
    "Arizona",
    "Arkansas",
    "California",
    "Colorado",
    "Connecticut",
    "Delaware",
    "District of Columbia",
    "Florida",
    "Georgia",
    "Guam",
    "Hawaii",
    "Idaho",
    "Illinois",
    "Indiana",
    "Iowa",
    "Kansas",
    "Kentucky",
    "Louisiana",
    "Maine",
    "Maryland",
    "Massachusetts",
    "Michigan",
    "Minnesota",
    "Mississippi",
    "Missouri",
    "Montana",
    "Nebraska",
    "Nevada",
    "New Brunswick",
    "New Hampshire",
    "New Jersey",
    "New Mexico",
    "New York",
    "North Carolina",
    "North Dakota",
    "Ohio",
    "Oklahoma",
    "Oregon",
    "Pennsylvania",
    "Puerto Rico",
    "Rhode Island",
    "South Carolina",
    "South Dakota",
    "Tennessee",
    "Texas",
    "Utah",
    "Vermont",
    "Virgin Islands",
    "Virginia",
    "Washington",
    "West Virginia",
    "Wisconsin",
    "Wyoming",
)


@dataclass(frozen=True)
class Batch:
    """A batch as its source handed it out: what ingest fetches, RAW keeps and the stages' results carry."""

    source: str  # stable id of where it came from, e.g. "synthetic:stationary:42" or a data API URL
    group_number: int
    batch_number: int  # as the source numbers it: 0 is a number (some deployments start there)
    rows: list[Any] = field(repr=False)  # as received: objects, or arrays of values in the feed's column order
    day: str | None = None


class BatchStatus(StrEnum):
    """Where a RAW batch is in the loop (`raw_batches.status`). Only the store moves a batch from one to the
    next (tasador.store.Store: take_up_again, mark_validated, reject, save_clean, finish, mark_failed)."""

    RECEIVED = "received"  # in RAW, not judged yet
    VALIDATED = "validated"  # its data report is written
    CLEANED = "cleaned"  # its rows are in CLEAN or the quarantine
    DONE = "done"  # through the whole loop
    REJECTED = "rejected"  # failed a whole-batch check (empty, not a list of rows, ...): kept with the reason
    FAILED = "failed"  # a run failed on it, with the reason; the next run takes it up again

    @property
    def is_final(self) -> bool:
        """Finished: never taken up again (a re-delivery of its rows changes nothing)."""
        return self in FINAL_STATUSES


FINAL_STATUSES: Final[frozenset[BatchStatus]] = frozenset({BatchStatus.DONE, BatchStatus.REJECTED})

#: A model's holdout metrics (tasador.model.evaluation), as MLflow tags of its version and in every report.
METRICS: Final[tuple[str, ...]] = ("rmse", "mae", "mdape", "r2_log")
