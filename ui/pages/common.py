"""What several pages share: the loop's history with its registered versions, or the message that replaces it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from tasador.history import History
from ui import data
from ui.context import RUN_FIRST, AppContext


def models_history(context: AppContext, no_models: str) -> tuple[History, pd.DataFrame] | None:
    """The history and the versions' runs; None after telling the user why there is nothing to show."""
    settings = context.settings
    try:
        history = context.cached(data.loop_history, "history_ttl_s")(
            settings.database_url, settings.tracking_uri, settings.registered_model_name, settings.production_alias
        )
        if history is None:
            st.info(RUN_FIRST)
            return None
        if not history.models:
            st.info(no_models)
            return None
        runs = context.cached(data.version_runs, "history_ttl_s")(settings.tracking_uri, settings.registered_model_name)
    except data.HistoryUnavailable as exc:
        st.error(str(exc))
        return None
    return history, runs
