#!/usr/bin/env bash
# Appends tasador's environment to the venv's activate script, so that after `source .venv/bin/activate`
# plain `zenml stack set ...`, `bentoml serve` and `mlflow` see the same ZenML store and quiet settings as make.
# The state folder is found from where the activate script is sourced, not written in: a moved or copied
# checkout (or a .venv linked into another one) uses its own .tasador/, never the one that made the venv.
set -euo pipefail
venv=${1:-.venv}
activate="$venv/bin/activate"
marker="# --- tasador environment ---"
if grep -qF "$marker" "$activate"; then  # an older block: replaced (it is always the last part of the file)
  sed -i "/^$marker\$/,\$d" "$activate"
fi
cat >>"$activate" <<'EOT'
# --- tasador environment ---
export ZENML_ANALYTICS_OPT_IN=false BENTOML_DO_NOT_TRACK=true MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=1
export ZENML_LOGGING_VERBOSITY=WARN STREAMLIT_BROWSER_GATHER_USAGE_STATS=false
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
_tasador_activate=${BASH_SOURCE[0]:-}
if [ -z "$_tasador_activate" ] && [ -n "${ZSH_VERSION:-}" ]; then eval '_tasador_activate=${(%):-%x}'; fi
# <checkout>/.venv/bin/activate -> <checkout> (logical path: a symlinked .venv belongs to the checkout it is in)
_tasador_checkout=$(cd "$(dirname "$_tasador_activate")/../.." && pwd)
# A TASADOR_HOME of your own is kept; one an earlier activation set (another checkout's) is replaced.
if [ -z "${TASADOR_HOME:-}" ] || [ "${TASADOR_HOME:-}" = "${_TASADOR_VENV_HOME:-}" ]; then
  export TASADOR_HOME="$_tasador_checkout/.tasador" ZENML_CONFIG_PATH="$_tasador_checkout/.tasador/zenml"
  _TASADOR_VENV_HOME=$TASADOR_HOME
fi
export ZENML_CONFIG_PATH=${ZENML_CONFIG_PATH:-$TASADOR_HOME/zenml}
unset _tasador_activate _tasador_checkout
EOT
