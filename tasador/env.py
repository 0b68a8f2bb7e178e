"""Process environment defaults shared by the CLI, the service, the UI and the tests."""

from __future__ import annotations

import os

#: Telemetry off everywhere (users of a test suite or a closed network expect none), quiet imports.
QUIET_DEFAULTS: dict[str, str] = {
    "ZENML_ANALYTICS_OPT_IN": "false",
    "BENTOML_DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
    "ZENML_LOGGING_VERBOSITY": "WARN",
    "ZENML_ENABLE_RICH_TRACEBACK": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    "PYTHONWARNINGS": "ignore::DeprecationWarning,ignore::FutureWarning",
    # XGBoost's OpenMP threads busy-wait for each other by default; on a machine whose cores are shared
    # (CI, a laptop, a pod with a CPU limit) that spinning made nthread=2 several times slower than one thread
    # (BENCHMARKS.md, "Training time"). Passive waiting costs little when the cores are idle. It must be set
    # before XGBoost is loaded, which quiet_environment() runs ahead of.
    "OMP_WAIT_POLICY": "PASSIVE",
}


def quiet_environment() -> None:
    """Set the defaults above, and keep ZenML's store under TASADOR_HOME, unless already set."""
    for key, value in QUIET_DEFAULTS.items():
        os.environ.setdefault(key, value)
    from tasador.settings import Settings  # pydantic only: cheap, and after the quiet defaults are set

    os.environ.setdefault("ZENML_CONFIG_PATH", str(Settings().home_dir / "zenml"))
