#!/usr/bin/env bash
# The main job: set up, then run the whole stack with a live demo class feeding the dashboard.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python manage.py runstack --demo "$@"
