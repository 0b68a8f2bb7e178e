"""Each page of the app against real stores: an empty system, a filled one, the service or database down."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tasador.schema import STATES
from tests.support import filled_system as system
from tests.support.reading import chart_data, texts

PAGES = ("pages/predict.py", "pages/models.py", "pages/batches.py", "pages/explainability.py", "pages/monitoring.py")


def test_empty_system_every_page_says_what_to_run_first(empty_app, empty_home: Path) -> None:
    for page in PAGES:
        app = empty_app(page)
        assert "make run" in texts(app.info), page
    predict = empty_app("pages/predict.py")
    assert predict.selectbox(key="state").options == list(STATES)
    assert predict.text_input(key="city_text") is not None
    assert not empty_home.exists(), "reading an empty system must not create its stores"


def test_predict_offers_clean_places_with_cities_following_the_state(filled_app) -> None:
    app = filled_app("pages/predict.py")
    # Texas appears only in quarantined rows, so the form does not offer it.
    assert app.selectbox(key="state").options == ["Massachusetts", "North Carolina"]
    assert app.selectbox(key="city").options == ["Boston", "Cambridge"]
    assert app.selectbox(key="zip_code").options == ["02127", "02118"]  # the most frequent first

    app.selectbox(key="state").select("North Carolina").run()
    assert app.selectbox(key="city").options == ["Graham"]
    assert app.selectbox(key="zip_code").options == ["27253"]


def test_predict_says_clearly_when_the_service_is_down(filled_app, dead_service_url: str) -> None:
    app = filled_app("pages/predict.py")
    assert "not ready" in texts(app.warning) and dead_service_url in texts(app.warning)

    app.number_input(key="house_size").set_value(2400)
    next(b for b in app.button if b.label == "Predict").click().run()
    assert not app.exception
    error = texts(app.error)
    assert "not reachable" in error and "TASADOR_SERVING_URL" in error
    assert not app.metric, "no price may be shown without the service"


def test_models_page_lists_every_version_and_highlights_production(filled_app) -> None:
    app = filled_app("pages/models.py")
    assert "Version 2 is `production`" in texts(app.success)
    assert [m.value for m in app.metric] == ["$250,000", "$120,000", "24.0%", "0.700"]

    versions = app.dataframe[0].value.set_index("version")
    assert list(versions.index) == [3, 2, 1]
    assert versions["production"].tolist() == [False, True, False]
    assert versions.loc[3, "decision"] == "rejected" and versions.loc[3, "reason"] == system.REJECTED_REASON
    assert versions.loc[2, "batches"] == "1,2,3"
    assert versions.loc[1, "rmse"] == 310_000

    served = app.dataframe[1].value  # which version served when, newest first
    assert served["version"].tolist() == ["2", "1"] and served["move"].tolist() == ["promotion", "promotion"]
    assert served["from version"].iloc[0] == "1" and pd.isna(served["from version"].iloc[1])
    assert pd.isna(served["until"].iloc[0])
    assert served["until"].iloc[1] == served["since"].iloc[0]

    timeline = chart_data(app)
    # Version 1 served after batches 1 and 2; version 2 from its promotion on batch 3 on.
    assert timeline["version"].tolist() == ["1", "1", "2", "2"]
    assert timeline["mdape"].tolist() == [30.0, 30.0, 24.0, 24.0]


def test_models_page_plots_the_metric_the_user_picks(filled_app) -> None:
    app = filled_app("pages/models.py")
    app.get("button_group")[0].set_value("rmse").run()
    assert chart_data(app)["rmse"].tolist() == [310_000, 310_000, 250_000, 250_000]


def test_batches_page_shows_quarantine_drift_decision_and_report(filled_app) -> None:
    app = filled_app("pages/batches.py")
    overview = app.dataframe[0].value
    assert overview["rows in"].tolist() == [6, 6, 6, 6]
    assert overview["quarantined"].tolist() == [1, 1, 1, 1]
    assert overview["outcome"].tolist()[0] == "promoted"
    # The newest batch comes first; it has no data report yet.
    assert "No validation report" in texts(app.info)

    app.selectbox(key="batch").select(3).run()
    assert not app.exception
    decision = texts(app.markdown)
    assert system.PRICE_DRIFT_REASON in decision and "Trained version **2**: promoted" in decision
    reasons, drift = app.dataframe[1].value, app.dataframe[2].value
    assert reasons.to_dict("records") == [{"reason": system.QUARANTINE_REASON, "rows": 1}]
    assert drift.set_index("feature").loc["price", "flagged"]
    assert not drift.set_index("feature").loc["house_size", "flagged"]
    download = app.get("download_button")
    assert len(download) == 1 and "data report" in download[0].proto.label


def test_explainability_shows_each_production_model_and_the_trend(filled_app) -> None:
    app = filled_app("pages/explainability.py")
    version = app.selectbox(key="shap_version")
    # Only versions that served: the rejected version 3 is not offered.
    assert version.options == ["version 2 (production)", "version 1"]
    bars = chart_data(app, 0)
    assert bars["feature"].tolist()[:2] == ["state", "house_size"]
    assert bars["label"].tolist()[:2] == ["State", "House size (sq ft)"]  # as a person names them
    assert len(app.get("image")) == 1, "version 2 has a SHAP summary plot"

    ranks = app.dataframe[0].value
    assert ranks.loc["State"].tolist() == [2, 1] and ranks.loc["House size (sq ft)"].tolist() == [1, 2]

    version.select(1).run()
    assert chart_data(app, 0)["feature"].tolist()[0] == "house_size"
    assert "no SHAP summary plot" in texts(app.caption)


def test_monitoring_shows_served_drift_per_feature_and_the_predictions(filled_app) -> None:
    app = filled_app("pages/monitoring.py")
    assert not app.exception
    # The filled system's decisions predate production's figures on each batch: the page says so.
    assert "No batch has been priced by a production model yet" in texts(app.info)
    heat = chart_data(app, 0).set_index("feature")
    assert heat.loc["state", "flagged"] and heat.loc["state", "severity"] == 4.2
    assert not heat.loc["bed", "flagged"]
    assert sorted(chart_data(app, 1)["price"]) == [150_000, 350_000, 800_000]
    windows = app.dataframe[0].value
    assert windows["requests"].tolist() == [40]
    assert windows["drifted"].tolist() == [f"state ({system.SERVED_STATE_BREACH})"]


@pytest.mark.parametrize("page", PAGES[1:])
def test_history_pages_name_an_unreachable_database(filled_app, dead_service_url: str, monkeypatch, page) -> None:
    port = dead_service_url.rsplit(":", 1)[1]
    monkeypatch.setenv("TASADOR_DB_URL", f"postgresql+psycopg://postgres@127.0.0.1:{port}/tasador")
    app = filled_app(page)
    assert "Could not read RAW/CLEAN" in texts(app.error) and "TASADOR_DB_URL" in texts(app.error)
