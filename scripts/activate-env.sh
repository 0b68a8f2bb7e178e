#!/usr/bin/env bash
# Appends tasador's environment to the venv's activate script, so that after `source .venv/bin/activate`
# plain `zenml stack set ...`, `bentoml serve` and `mlflow` see the same ZenML store and quiet settings as make.
set -euo pipefail
venv=${1:-.venv}
activate="$venv/bin/activate"
marker="# --- tasador environment ---"
grep -qF "$marker" "$activate" && exit 0
root=$(cd "$(dirname "$venv")" && pwd)
cat >>"$activate" <<EOT

$marker
export ZENML_ANALYTICS_OPT_IN=false BENTOML_DO_NOT_TRACK=true MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=1
export ZENML_LOGGING_VERBOSITY=WARN STREAMLIT_BROWSER_GATHER_USAGE_STATS=false
export OMP_WAIT_POLICY=\${OMP_WAIT_POLICY:-PASSIVE}
export TASADOR_HOME=\${TASADOR_HOME:-$root/.tasador}
export ZENML_CONFIG_PATH=\${ZENML_CONFIG_PATH:-\$TASADOR_HOME/zenml}
EOT
