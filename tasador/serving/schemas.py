"""Request and response bodies of the service, with the bounds a listing must keep.

A listing's fields are read as cleaning reads the feed (`tasador.cleaning.parsing.FieldReader`): "2127", 2127.0 and
"02127-1234" are zip code 02127, "1,500" is 1500 square feet, "north carolina" is North Carolina; a value
cleaning could not read is refused with the reason cleaning gives. Unknown fields are refused (422 naming
the field): a typo such as `house_sise` must not silently turn into a missing value and a different price.
`status` and `state` are required (the feed always has them); every other feature may be absent or null,
as in the feed, and the model treats it as missing.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    create_model,
)

from tasador.cleaning.parsing import FieldReader
from tasador.cleaning.rules import Rule
from tasador.schema import NUMERIC_COLUMNS, STATES, STATUSES
from tasador.settings import Settings

EXAMPLE_LISTING: dict[str, Any] = {
    "brokered_by": "103378",
    "status": "for_sale",
    "bed": 3,
    "bath": 2,
    "acre_lot": 0.12,
    "street": "1962661",
    "city": "Boston",
    "state": "Massachusetts",
    "zip_code": "02127",
    "house_size": 1500,
    "prev_sold_date": "2015-06-30",
}


@lru_cache(maxsize=1)
def _field_reader() -> FieldReader:
    return FieldReader(Settings().configs.cleaning)


def _needs_reading(column: str, value: Any) -> bool:
    return value is not None and not (column in NUMERIC_COLUMNS and type(value) in (int, float))


def _as_cleaning_reads(column: str, allowed: tuple[str, ...] = ()) -> BeforeValidator:
    """The value as cleaning reads it from the feed (tasador.cleaning.parsing.FieldReader, one reading for both),
    refused with the reason cleaning would quarantine the row for. Numbers sent as numbers go to pydantic as they are
    (cleaning reads them as floats too)."""

    def read(value: Any) -> Any:
        if not _needs_reading(column, value):
            return value
        clean, reason = _field_reader().read_value(column, value)
        if reason is not None:
            raise ValueError(reason)
        if allowed and clean is not None and clean not in allowed:
            raise ValueError(Rule(column, "one_of", allowed).reason(clean))
        return clean.date() if isinstance(clean, pd.Timestamp) else clean

    return BeforeValidator(read)


def _zero_or_at_least(minimum: float) -> AfterValidator:
    """Counts and areas are 0 or real sizes: 1e-300 bathrooms is a typo, and the model's ratios
    (bath per bed, building to lot) would overflow on it."""

    def check(value: float | None) -> float | None:
        if value is not None and 0 < value < minimum:
            raise ValueError(f"expected 0 or at least {minimum:g}")
        return value

    return AfterValidator(check)


# The JSON schemas say what the reading accepts (the feed's forms), so clients and schemathesis see the contract.
_NUMBER_OR_TEXT = WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string"}, {"type": "null"}]})
_ID_SCHEMA = WithJsonSchema(
    {
        "anyOf": [
            {"type": "integer", "minimum": 0, "maximum": 10**15},
            {"type": "string", "pattern": "^[0-9]{1,15}(\\.0*)?$"},
            {"type": "null"},
        ]
    }
)
_ZIP_SCHEMA = WithJsonSchema(
    {
        "anyOf": [
            {"type": "integer", "minimum": 1, "maximum": 99_999},
            {"type": "string", "pattern": "^[0-9]{1,5}(\\.0*)?(-[0-9]{4})?$"},
            {"type": "null"},
        ]
    }
)
State = Annotated[
    str,
    _as_cleaning_reads("state", STATES),
    WithJsonSchema({"type": "string", "examples": ["North Carolina", "north carolina"]}),
]
Status = Annotated[
    Literal["for_sale", "sold", "ready_to_build"],
    _as_cleaning_reads("status", STATUSES),
    WithJsonSchema({"type": "string", "examples": ["for_sale", "For Sale"]}),
]
# Bounds on the inner type: pydantic applies them to the value read, and never to a missing one.
Rooms = Annotated[float, Field(ge=0, le=100), _zero_or_at_least(0.01)] | None
Acres = Annotated[float, Field(ge=0, lt=1_000_000), _zero_or_at_least(1e-6)] | None
SquareFeet = Annotated[float, Field(gt=0, lt=1_000_000)] | None
City = Annotated[str, Field(max_length=128)] | None


class Listing(BaseModel):
    """One listing: the feed's columns without `price`."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra={"examples": [EXAMPLE_LISTING]})

    brokered_by: Annotated[str | None, _as_cleaning_reads("brokered_by"), _ID_SCHEMA] = Field(
        None, description="Broker id (integer-coded: 103378, 103378.0 or '103378')."
    )
    status: Status = Field(description="for_sale, sold or ready_to_build, any case ('For Sale').")
    bed: Annotated[Rooms, _as_cleaning_reads("bed"), _NUMBER_OR_TEXT] = Field(
        None, description="Bedrooms: 0, or 0.01 up to 100 (a number or its text, '3')."
    )
    bath: Annotated[Rooms, _as_cleaning_reads("bath"), _NUMBER_OR_TEXT] = Field(
        None, description="Bathrooms: 0, or 0.01 up to 100."
    )
    acre_lot: Annotated[Acres, _as_cleaning_reads("acre_lot"), _NUMBER_OR_TEXT] = Field(
        None, description="Lot size in acres: 0, or 1e-6 up to 1,000,000."
    )
    street: Annotated[str | None, _as_cleaning_reads("street"), _ID_SCHEMA] = Field(
        None, description="Street id (integer-coded)."
    )
    city: Annotated[City, _as_cleaning_reads("city")] = Field(
        None, description="Any case: 'BOSTON' is read as 'Boston'."
    )
    state: State = Field(description="Full name, any case: 'north carolina' is read as 'North Carolina'.")
    zip_code: Annotated[str | None, _as_cleaning_reads("zip_code"), _ZIP_SCHEMA] = Field(
        None, description="'02127', '2127', 2127, 2127.0 or '02127-1234': all read as 02127."
    )
    house_size: Annotated[SquareFeet, _as_cleaning_reads("house_size"), _NUMBER_OR_TEXT] = Field(
        None, description="Living space in square feet ('1,500' is 1500)."
    )
    prev_sold_date: Annotated[
        dt.date | None,
        _as_cleaning_reads("prev_sold_date"),
        WithJsonSchema({"anyOf": [{"type": "string", "examples": ["2015-06-30", "06/30/2015"]}, {"type": "null"}]}),
    ] = Field(None, description="Date of the previous sale: 2015-06-30 or 06/30/2015.")


class ListingBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    listings: list[Listing]


def batch_model(name: str, max_rows: int) -> type[ListingBatch]:
    """A request body of 1..max_rows listings (the cap comes from configs/serving.yaml)."""
    return create_model(
        name,
        __base__=ListingBatch,
        listings=(
            list[Listing],
            Field(min_length=1, max_length=max_rows, description=f"1 to {max_rows} listings."),
        ),
        __doc__=f"Up to {max_rows} listings.",
    )


class Prediction(BaseModel):
    request_id: str = Field(description="Also the key of these rows in the inference log.")
    model_version: str
    prices: list[float] = Field(description="Predicted prices in dollars, in the order of `listings`.")


class Explanation(BaseModel):
    """Exact TreeSHAP values in log dollars: base_value + sum of a row's values = log(price)."""

    model_version: str
    prices: list[float]
    unit: Literal["log dollars"] = Field(
        "log dollars", description="Of base_value and every SHAP value: exp(base_value + sum of values) = price."
    )
    base_value: float = Field(description="The model's expected output in log dollars, before any feature.")
    base_price: float = Field(description="exp(base_value): the price in dollars the explanation starts from.")
    feature_names: list[str] = Field(description="The model's encoded features.")
    values: list[list[float]] = Field(description="SHAP values per encoded feature, one row per listing.")
    columns: list[str] = Field(description="The listing's fields the features come from.")
    column_values: list[list[float]] = Field(description="SHAP values summed per field, one row per listing.")


class ModelInfo(BaseModel):
    name: str
    version: str
    source: Literal["registry", "bundle"]
    status: Literal["ready", "degraded"]
    loaded_at: dt.datetime
    run_id: str | None = None
    decision: str | None = None
    reason: str | None = None
    batches: str | None = None
    promoted_at: str | None = None
    metrics: dict[str, float] = Field(default_factory=dict, description="Holdout metrics: rmse, mae, mdape, r2_log.")
    tags: dict[str, str] = Field(default_factory=dict)


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    ready: bool
    status: Literal["ready", "degraded", "no_model"]
    model_version: str | None = None
    detail: str


class ReloadRequested(BaseModel):
    """Accepted: the workers check the registry's alias within `registry_events.check_s`."""

    detail: str


class ErrorBody(BaseModel):
    error: str
    message: str
    fields: list[str] = Field(default_factory=list, description="Dotted paths of the offending fields.")
