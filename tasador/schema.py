"""The listing schema shared by every part of tasador (feed, stores, validation, model, service)."""

from __future__ import annotations

from typing import Final

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
