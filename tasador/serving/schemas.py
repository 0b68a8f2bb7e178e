"""Request and response bodies of the service, with the bounds a listing must keep.

Unknown fields are refused (422 naming the field): a typo such as `house_sise` must not silently turn
into a missing value and a different price. `status` and `state` are required (the feed always has them);
every other feature may be absent or null, as in the feed, and the model treats it as missing.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, create_model

from tasador.schema import STATES

_STATES_BY_LOWER = {name.lower(): name for name in STATES}
_DIGITS = re.compile(r"[0-9]{1,32}(\.0)?")

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


def _integer_id(value: Any) -> Any:
    """Ids arrive as 40618, 40618.0 or "40618"; the clean form is the integer's text."""
    if isinstance(value, bool):
        raise ValueError("expected an integer id, not a boolean")
    if isinstance(value, int | float):
        if not math.isfinite(value) or not float(value).is_integer() or value < 0:
            raise ValueError("expected a non-negative integer id")
        return str(int(value))
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return value.strip().removesuffix(".0")
    if value is None:
        return None
    raise ValueError("expected an integer id, e.g. 103378")


def _zip_code(value: Any) -> Any:
    """5 digits as text ("02127"), or the number the feed sends after losing the leading zero (2127.0)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("expected a 5-digit zip code, not a boolean")
    if isinstance(value, int | float):
        if not math.isfinite(value) or not float(value).is_integer() or not 0 <= value <= 99_999:
            raise ValueError("expected a zip code between 0 and 99999")
        return f"{int(value):05d}"
    if isinstance(value, str) and len(value) == 5 and value.isdigit():
        return value
    raise ValueError("expected a 5-digit zip code such as '02127' (or the number 2127)")


def _zero_or_at_least(minimum: float) -> AfterValidator:
    """Counts and areas are 0 or real sizes: 1e-300 bathrooms is a typo, and the model's ratios
    (bath per bed, building to lot) would overflow on it."""

    def check(value: float | None) -> float | None:
        if value is not None and 0 < value < minimum:
            raise ValueError(f"expected 0 or at least {minimum:g}")
        return value

    return AfterValidator(check)


def _state(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in _STATES_BY_LOWER:
        return _STATES_BY_LOWER[value.strip().lower()]
    raise ValueError("expected a state's full name, e.g. 'North Carolina' (any case)")


# The JSON schemas say what the validators accept, so clients and schemathesis see the real contract.
IntegerId = Annotated[
    str | None,
    BeforeValidator(_integer_id),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0, "maximum": 10**15},
                {"type": "string", "pattern": "^[0-9]{1,32}$"},
                {"type": "null"},
            ]
        }
    ),
]
ZipCode = Annotated[
    str | None,
    BeforeValidator(_zip_code),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0, "maximum": 99_999},
                {"type": "string", "pattern": "^[0-9]{5}$"},
                {"type": "null"},
            ]
        }
    ),
]
State = Annotated[str, BeforeValidator(_state), WithJsonSchema({"type": "string", "enum": list(STATES)})]
Rooms = Annotated[float | None, Field(ge=0, le=100), _zero_or_at_least(0.01)]
Acres = Annotated[float | None, Field(ge=0, lt=1_000_000), _zero_or_at_least(1e-6)]


class Listing(BaseModel):
    """One listing: the feed's columns without `price`."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra={"examples": [EXAMPLE_LISTING]})

    brokered_by: IntegerId = Field(None, description="Broker id (integer-coded).")
    status: Literal["for_sale", "sold", "ready_to_build"]
    bed: Rooms = Field(None, description="Bedrooms: 0, or 0.01 up to 100.")
    bath: Rooms = Field(None, description="Bathrooms: 0, or 0.01 up to 100.")
    acre_lot: Acres = Field(None, description="Lot size in acres: 0, or 1e-6 up to 1,000,000.")
    street: IntegerId = Field(None, description="Street id (integer-coded).")
    city: str | None = Field(None, max_length=128)
    state: State = Field(description="Full name, any case: 'north carolina' is read as 'North Carolina'.")
    zip_code: ZipCode = Field(None, description="5 digits as text, or a number (2127 is 02127).")
    house_size: float | None = Field(None, gt=0, lt=1_000_000, description="Living space in square feet.")
    prev_sold_date: dt.date | None = Field(None, description="Date of the previous sale, YYYY-MM-DD.")


class ListingBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    listings: list[Listing]


def batch_model(name: str, max_rows: int) -> type[ListingBatch]:
    """A request body of 1..max_rows listings (the cap comes from configs/serving.yaml)."""
    return create_model(  # type: ignore[call-overload,no-any-return]
        name,
        __base__=ListingBatch,
        __config__=None,
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
    base_value: float = Field(description="The model's expected output (log dollars) before any feature.")
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
