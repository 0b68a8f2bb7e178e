"""Batch scoring's reading and checking: cleaning's parser and rules (less the price's), nothing dropped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from tasador.configs import ScoringConfig
from tasador.serving.batch_scoring import clean_input, csv_input, read_csv, score_and_save, scoring_rules
from tasador.settings import Settings
from tasador.store import Store
from tasador.store import tables as t

HEADER = "Brokered By,status,price,bed,bath,acre_lot,street,city,state,Zip Code,house_size,prev_sold_date,extra\n"
ROWS = [
    "40618.0,for_sale,239800.0,3.0,2.0,0.28,1693508.0,Graham,North Carolina,27253.0,1105.0,2021-10-22,x",
    "8448,For Sale,,2,1,0.82,99962,coal township,pennsylvania,02127,900,,y",  # no price: still priced
    "1,for_sale,1,abc,2,0.1,5,Austin,Texas,78701,1000,2010-01-01,z",  # bed unreadable
    "1,for_sale,1,3,2,0.1,5,Austin,Atlantis,78701,1000,2010-01-01,z",  # unknown state
    "1,for_sale,1,3,-2,0.1,5,Austin,Texas,78701,1000,2010-01-01,z",  # negative bath
]


def score_csv(path: Path, predictor, config: ScoringConfig, progress=lambda *_: None):  # type: ignore[no-untyped-def]
    """Score `path` into a SQLite store beside it, as the pipeline's step does."""
    store = Store(f"sqlite:///{path.parent / 'tasador.db'}")
    source = csv_input(path)
    scored, scoring = score_and_save(
        store, source, predictor, ("m", "1"), config, Settings().configs.cleaning, progress
    )
    store.dispose()
    return scored, scoring


@pytest.fixture(scope="module")
def predictor():  # type: ignore[no-untyped-def]
    from tests.support.service import synthetic_listings, train_predictor

    return train_predictor(synthetic_listings(rows=400))


def test_bad_rows_keep_cleanings_reason_and_get_no_price(tmp_path: Path, predictor) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "listings.csv"
    path.write_text(HEADER + "\n".join(ROWS) + "\n")
    progress: list[tuple[int, int]] = []
    scored, scoring = score_csv(
        path, predictor, ScoringConfig(chunk_rows=2, top_reasons=3), lambda *p: progress.append(p)
    )
    lineage = scoring.lineage
    assert list(scored["source_row"]) == [0, 1, 2, 3, 4] and lineage.rows == 5 and len(lineage.sha256 or "") == 64
    assert (scoring.rows, scoring.priced, scoring.refused) == (5, 2, 3)
    assert scored["reason"][:2].isna().all() and np.isfinite(scored["price"][:2]).all()
    assert scored["reason"][2] == "bed not a number: 'abc'"
    assert scored["reason"][3] == "unknown state 'Atlantis'"
    assert scored["reason"][4] == "bath negative"
    assert scored["price"][2:].isna().all()
    assert progress == [(2, 5), (4, 5), (5, 5)]


def test_a_word_deep_in_a_number_column_is_read_and_reported(tmp_path: Path, predictor) -> None:  # type: ignore[no-untyped-def]
    # Arrow types a column from the file's first block (1 MB): a word after it fails its read as numbers.
    path = tmp_path / "listings.csv"
    path.write_text(HEADER + "\n".join([ROWS[0]] * 20_000 + [ROWS[2]]) + "\n")
    assert read_csv(path).num_rows == 20_001
    scored, _ = score_csv(path, predictor, ScoringConfig(chunk_rows=50_000, top_reasons=3))
    assert scored["reason"].notna().sum() == 1 and scored["reason"].iloc[-1] == "bed not a number: 'abc'"


def test_the_price_rules_do_not_apply_to_listings_to_be_priced() -> None:
    columns = {rule.column for rule in scoring_rules(Settings().configs.cleaning)}
    assert "price" not in columns and {"state", "bed", "status"} <= columns


def test_a_query_over_clean_is_priced_with_its_rows_lineage(store: Store, predictor) -> None:  # type: ignore[no-untyped-def]
    from tasador.cleaning.clean import clean_batch
    from tasador.schema import Batch

    listing = dict(zip(HEADER.strip().split(",")[:12], ROWS[0].split(",")[:12], strict=True))
    rows = [{**listing, "state": state, "street": str(i)} for i, state in enumerate(["Texas", "Ohio", "Texas"])]
    batch_id = store.ingest_raw(Batch("api", 1, 1, rows)).batch_id
    clean_batch(store, batch_id, Settings().configs.cleaning)
    source = clean_input(store, "state = 'Texas'")
    scored, scoring = score_and_save(
        store,
        source,
        predictor,
        ("m", "1"),
        ScoringConfig(chunk_rows=1, top_reasons=3),
        Settings().configs.cleaning,
        lambda *_: None,
    )
    texas = [row_id for row_id, row in store.raw_rows(batch_id) if row["state"] == "Texas"]
    assert list(scored["source_row"]) == texas and scored["price"].notna().all(), scored["reason"].tolist()
    assert scoring.lineage.kind == "clean" and scoring.lineage.clean_batches == [batch_id]
    with store.engine.connect() as conn:
        saved = conn.execute(select(t.batch_predictions.c.source_row).order_by(t.batch_predictions.c.id)).scalars()
        assert list(saved) == texas  # every chunk written, in order, on both databases
