"""The app's entry point: `streamlit run ui/app.py` from the repository root.

Configuration: tasador's Settings (`TASADOR_DB_URL`, `MLFLOW_TRACKING_URI`, `TASADOR_SERVING_URL`, ...) and
the numbers in configs/ui.yaml. Telemetry is off in ui/.streamlit/config.toml.
"""

from pathlib import Path

import streamlit as st

# `streamlit run` puts only ui/ on sys.path: `ui` and `tasador` come from the installed project (`make install`).
from ui.context import display_uri, limit_mlflow_http, load_context

PAGES_DIR = Path(__file__).resolve().parent / "pages"


def main() -> None:
    st.set_page_config(page_title="tasador", page_icon=":material/home_work:", layout="wide")
    context = load_context()
    limit_mlflow_http(context.config)
    navigation = st.navigation(
        [
            st.Page(PAGES_DIR / "predict.py", title="Predict", icon=":material/sell:", default=True),
            st.Page(PAGES_DIR / "models.py", title="Models", icon=":material/model_training:"),
            st.Page(PAGES_DIR / "batches.py", title="Batches", icon=":material/inventory_2:"),
            st.Page(PAGES_DIR / "monitoring.py", title="Monitoring", icon=":material/monitor_heart:"),
            st.Page(PAGES_DIR / "explainability.py", title="Explainability", icon=":material/insights:"),
        ]
    )
    with st.sidebar:
        if st.button("Refresh", icon=":material/refresh:", help="Read batches and models again now."):
            st.cache_data.clear()
        st.caption(f"Service: {display_uri(context.settings.serving_url)}")
        st.caption(f"MLflow: {display_uri(context.settings.tracking_uri)}")
        st.caption(f"Database: {display_uri(context.settings.database_url)}")
    navigation.run()


main()
