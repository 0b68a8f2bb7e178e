#!/usr/bin/env bash
# Installs Airflow 3 into its own virtualenv, .venv-airflow, next to the project's .venv.
#
# Why a second virtualenv: apache-airflow-core 3.3 requires fastapi<0.137 and newer OpenTelemetry than the
# project's pins (zenml[server], bentoml, fastapi==0.138.2), so one environment cannot hold both. Airflow's
# tasks run each ZenML step with the project's interpreter (tasador/services/airflow_dag.py), so steps
# keep the project's pins. Re-running is safe and quick: an install from the same constraints file is kept.
#
#   bash airflow/setup.sh                      # creates ./.venv-airflow
#   AIRFLOW_VENV=/opt/af bash airflow/setup.sh  # elsewhere
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
airflow_version="3.3.2"
venv="${AIRFLOW_VENV:-$repo_root/.venv-airflow}"
constraints="${AIRFLOW_CONSTRAINTS:-$repo_root/airflow/constraints-$airflow_version-py3.11.txt}"
python="${AIRFLOW_PYTHON:-python3.11}"

if ! command -v "$python" >/dev/null; then
    echo "setup.sh: $python not found; Airflow $airflow_version is pinned for Python 3.11 (set AIRFLOW_PYTHON)." >&2
    exit 1
fi
# Cached by the constraints file: a venv installed from the same file is kept as it is (CI runs this each time).
stamp="$venv/.installed-$(cat "$constraints" | md5sum | cut -c1-12)"
if [ -f "$stamp" ] && [ -x "$venv/bin/airflow" ]; then
    echo "Airflow $airflow_version is already in $venv (same constraints): nothing to install."
    exit 0
fi
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --constraint "$constraints" "apache-airflow==$airflow_version"
"$venv/bin/python" -m pip check
rm -f "$venv"/.installed-*
touch "$stamp"
echo "Airflow $airflow_version is in $venv: export AIRFLOW_HOME=\$PWD/.tasador/airflow and see docs/stacks.md."
