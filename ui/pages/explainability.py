"""Explainability: global SHAP of each production model and how its top features moved between versions."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from tasador.model.features import feature_label
from ui import data
from ui.charts import importance_bars, importance_trend
from ui.context import RUN_MORE, AppContext, load_context
from ui.pages.common import models_history


def render() -> None:
    context = load_context()
    settings = context.settings
    st.title("Explainability")
    loaded = models_history(context, f"No model has been trained yet. {RUN_MORE}")
    if loaded is None:
        return
    history, runs = loaded
    versions = data.versions_frame(history, runs)
    # Every version that served at some time: promoted by the loop, or holding the alias now.
    served = versions[(versions["decision"] == "promoted") | versions["production"]]
    if served.empty:
        st.info("No version has been promoted yet: every trained version was rejected (the Models page says why).")
        return

    load_shap = context.cached(data.mean_abs_shap, "artifacts_ttl_s")
    shap_by_version = {
        int(v.version): values
        for v in served.itertuples()
        if (values := load_shap(settings.tracking_uri, v.run_id)) is not None
    }
    if not shap_by_version:
        st.warning(
            "No production version has a SHAP summary (`shap/mean_abs_shap.json` in its run); "
            "versions trained by the current pipeline have one."
        )
        return
    _global_importance(context, served, shap_by_version)
    _importance_trend(context, shap_by_version)


def _global_importance(context: AppContext, served: pd.DataFrame, shap_by_version: dict[int, dict[str, float]]) -> None:
    st.subheader("Global importance")
    choices = sorted(shap_by_version, reverse=True)
    current = served.loc[served["production"], "version"]
    default = choices.index(int(current.iloc[0])) if not current.empty and int(current.iloc[0]) in choices else 0
    version = st.selectbox(
        "Version",
        choices,
        index=default,
        key="shap_version",
        format_func=lambda v: f"version {v}" + (" (production)" if v in set(current) else ""),
    )
    bars, summary = st.columns(2)
    with bars:
        top = context.config.explain.top_features
        chart = importance_bars(shap_by_version[version], top, context.config.charts.bar_px)
        st.altair_chart(chart, width="stretch")
    with summary:
        run_id = served.loc[served["version"] == version, "run_id"].iloc[0]
        png = context.cached(data.shap_summary_png, "artifacts_ttl_s")(context.settings.tracking_uri, run_id)
        if png is None:
            st.caption(f"This version's run has no SHAP summary plot (`{data.SHAP_SUMMARY_PATH}`).")
        else:
            st.image(png, caption=f"SHAP summary of version {version} on its holdout")


def _importance_trend(context: AppContext, shap_by_version: dict[int, dict[str, float]]) -> None:
    st.subheader("How the top features changed between versions")
    if len(shap_by_version) < 2:
        st.caption("Only one production version so far: the trend appears after the next promotion.")
        return
    trend = data.shap_trend(shap_by_version, context.config.explain.trend_features)
    st.altair_chart(importance_trend(trend, context.config.charts.height_px), width="stretch")
    ranks = trend.pivot(index="feature", columns="version", values="rank")
    ranks.columns = [f"v{c}" for c in ranks.columns]
    ranks.index = ranks.index.map(feature_label)
    st.caption("Rank of each feature by mean |SHAP| (1 = most important), per version.")
    st.dataframe(ranks)


render()
