"""Predict: one listing in, its price, the model version that priced it, and why (SHAP)."""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from tasador.schema import STATES, STATUSES
from ui import data
from ui.charts import contributions_bars
from ui.context import RUN_FIRST, AppContext, load_context
from ui.serving import ServingClient, ServingRefused, ServingUnavailable


def render() -> None:
    context = load_context()
    client = ServingClient(context.settings.serving_url, context.config.serving.timeout_s)
    st.title("Predict a price")

    readiness = client.readiness(timeout_s=context.config.serving.ready_timeout_s)
    if not readiness.ready:
        st.warning(f"The prediction service is not ready. {readiness.detail}", icon=":material/cloud_off:")

    listing = _listing_form(context)
    if listing is None:
        return
    try:
        prediction = client.predict(listing)
    except (ServingUnavailable, ServingRefused) as exc:
        st.error(str(exc))
        return
    st.metric("Predicted price", f"${prediction.price:,.0f}")
    st.caption(f"Model version {prediction.model_version} · request {prediction.request_id}")
    _explanation(client, listing, context)


def _listing_form(context: AppContext) -> dict[str, Any] | None:
    """The listing the user submitted, or None before a submit.

    State and city sit outside the form so that the city list follows the chosen state at once.
    """
    database_url = context.settings.database_url
    try:
        by_state = context.cached(data.locations, "locations_ttl_s")(database_url)
    except data.HistoryUnavailable as exc:
        st.error(str(exc))
        by_state = {}
    if not by_state:
        st.info(f"{RUN_FIRST} Until then the form offers every state and any city.")

    left, right = st.columns(2)
    state = left.selectbox("State", sorted(by_state) or list(STATES), key="state")
    cities = by_state.get(state, [])
    if cities:
        city = right.selectbox("City", cities, key="city")
        zips = context.cached(data.zip_codes, "locations_ttl_s")(database_url, state, city)
    else:
        city = right.text_input("City", key="city_text")
        zips = []

    defaults = context.config.predict_defaults
    with st.form("listing"):
        left, right = st.columns(2)
        status = left.selectbox("Status", STATUSES, index=STATUSES.index(defaults.status), key="status")
        if zips:
            zip_code = right.selectbox("Zip code", zips, key="zip_code", help="Most frequent in CLEAN first.")
        else:
            zip_code = right.text_input("Zip code", max_chars=5, key="zip_text")
        bed = left.number_input("Bedrooms", 0, defaults.max_bed, defaults.bed, key="bed")
        bath = right.number_input("Bathrooms", 0, defaults.max_bath, defaults.bath, key="bath")
        house_size = left.number_input(
            "House size (sq ft)", 1, defaults.max_house_size, defaults.house_size, key="house_size"
        )
        acre_lot = right.number_input(
            "Lot (acres)", 0.0, float(defaults.max_acre_lot), float(defaults.acre_lot), key="acre_lot"
        )
        prev_sold = left.date_input("Previously sold on", value=None, key="prev_sold_date", help="Empty: never sold.")
        broker = right.text_input("Broker id", key="brokered_by", help="Integer id as in the feed; may stay empty.")
        street = right.text_input("Street id", key="street", help="Integer id as in the feed; may stay empty.")
        if not st.form_submit_button("Predict", type="primary"):
            return None
    return {
        "status": status,
        "state": state,
        "city": city or None,
        "zip_code": zip_code or None,
        "bed": bed,
        "bath": bath,
        "house_size": house_size,
        "acre_lot": acre_lot,
        "prev_sold_date": prev_sold.isoformat() if prev_sold else None,
        "brokered_by": broker.strip() or None,
        "street": street.strip() or None,
    }


def _explanation(client: ServingClient, listing: dict[str, Any], context: AppContext) -> None:
    st.subheader("Why this price")
    try:
        explanation = client.explain(listing)
    except (ServingUnavailable, ServingRefused) as exc:
        st.warning(f"The price above stands, but its explanation failed. {exc}")
        return
    st.caption(
        f"Each bar is a feature's SHAP contribution to log(price), starting from the model's average "
        f"of ${math.exp(explanation.base_value):,.0f}: red bars raise this listing's price, blue bars lower it."
    )
    top = context.config.explain.top_features
    st.altair_chart(
        contributions_bars(explanation.contributions, top, context.config.charts.bar_px),
        width="stretch",
    )


render()
