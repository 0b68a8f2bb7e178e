#!/usr/bin/env bash
# One scheduled training run on the production stack (the pipeline image's command).
# Credentials come from the environment (see stacks/production.yaml); with ZENML_STORE_URL set,
# runs are recorded in that ZenML server, otherwise in a store local to this container.
set -euo pipefail
[[ -d .zen ]] || zenml init >/dev/null
python run.py stack apply stacks/production.yaml --activate
exec python run.py --pipeline training "$@"
