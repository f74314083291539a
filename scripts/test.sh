#!/usr/bin/env bash
# The test command: set up, lint, type-check, run every test on SQLite, then the integration tests
# again on PostgreSQL 15 (started locally if it is installed and not running).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=3 PYTHONUNBUFFERED=1

.venv/bin/ruff check .
.venv/bin/mypy .

.venv/bin/python -m pytest "$@"

if [ -z "${SKIP_POSTGRES:-}" ]; then
  scripts/postgres.sh
  DATABASE_URL="postgres://engagement:engagement@127.0.0.1:5432/engagement" \
    .venv/bin/python -m pytest -m "integration" tests/integration "$@"
fi
