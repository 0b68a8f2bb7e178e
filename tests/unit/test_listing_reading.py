"""One reading of a listing: the service reads a request's fields as cleaning reads the feed's rows
(`tasador.cleaning.parsing.FieldReader`), and refuses what cleaning quarantines with the reason cleaning gives."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError

from tasador.cleaning.clean import normalise
from tasador.schema import FEATURE_COLUMNS
from tasador.serving.schemas import Listing

FEED_ROW: dict[str, Any] = {
    "brokered_by": "103378.0",
    "status": "For Sale",
    "bed": "3",
    "bath": 2,
    "acre_lot": "0.12",
    "street": 1962661.0,
    "city": "  BOSTON ",
    "state": "massachusetts",
    "zip_code": "2127",
    "house_size": "1,500",
    "prev_sold_date": "06/30/2015",
}


def cleaned(row: dict[str, Any]) -> dict[str, Any]:
    """What cleaning makes of the row (with a price, which a listing to price lacks)."""
    clean, quarantined = normalise([(1, {**row, "price": 500_000})], today=dt.date(2026, 1, 1))
    assert quarantined.empty, quarantined["reason"].tolist()
    values = clean.iloc[0][list(FEATURE_COLUMNS)].to_dict()
    values["prev_sold_date"] = values["prev_sold_date"].date()
    return values


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"zip_code": "02127-1234"},
        {"zip_code": 2127.0},
        {"zip_code": "02127", "house_size": 1500, "state": "Massachusetts", "status": "for_sale"},
        {"house_size": "$1,500", "bed": " 3 ", "prev_sold_date": "2015-06-30"},
    ],
)
def test_the_service_reads_a_feed_row_as_cleaning_does(changes: dict[str, Any]) -> None:
    row = {**FEED_ROW, **changes}
    assert Listing.model_validate(row).model_dump() == cleaned(row)
    assert Listing.model_validate(row).zip_code == "02127"


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("zip_code", "21x7", "zip_code not a zip code: '21x7'"),
        ("house_size", "big", "house_size not a number: 'big'"),
        ("bed", "three", "bed not a number: 'three'"),
        ("street", "12.5", "street not an integer id: '12.5'"),
        ("state", "Atlantis", "unknown state 'Atlantis'"),
        ("status", "rented", "unknown status 'rented'"),
    ],
)
def test_what_cleaning_quarantines_the_service_refuses_with_the_same_reason(
    field: str, value: Any, reason: str
) -> None:
    row = {**FEED_ROW, field: value}
    _, quarantined = normalise([(1, {**row, "price": 500_000})], today=dt.date(2026, 1, 1))
    assert quarantined["reason"].tolist() == [reason]
    with pytest.raises(ValidationError) as refused:
        Listing.model_validate(row)
    assert reason in str(refused.value)


def test_every_listing_of_a_request_reads_as_it_would_alone() -> None:
    """A request of distinct listings comes out listing by listing as each would alone, and a bad value is refused
    with cleaning's reason at its listing's path."""
    from tasador.serving.schemas import batch_model

    listings = [
        {**FEED_ROW, "zip_code": f"{10000 + i}", "street": f"{500000 + i}.0", "city": f"TOWN {i}"} for i in range(300)
    ]
    listings[7] = {**listings[7], "zip_code": "21x7"}
    body = batch_model("Request", 1000)
    with pytest.raises(ValidationError) as refused:
        body.model_validate({"listings": listings})
    assert "zip_code not a zip code: '21x7'" in str(refused.value) and "listings.7.zip_code" in str(refused.value)

    del listings[7]
    alone = [Listing.model_validate(listing).model_dump() for listing in listings]
    assert [listing.model_dump() for listing in body.model_validate({"listings": listings}).listings] == alone
    assert alone[-1]["zip_code"] == "10299" and alone[-1]["street"] == "500299" and alone[-1]["city"] == "Town 299"
