#!/usr/bin/env bash
# Start the machine's PostgreSQL 15 and create the project's role and database (idempotent).
set -euo pipefail
if ! command -v pg_ctlcluster >/dev/null; then
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-15
fi
pg_lsclusters -h | grep -q '^15 *main .* online' || pg_ctlcluster 15 main start
for _ in $(seq 1 30); do su postgres -c "psql -qtAc 'select 1'" >/dev/null 2>&1 && break; sleep 1; done
su postgres -c "psql -qtAc \"select 1 from pg_roles where rolname='engagement'\"" | grep -q 1 ||
  su postgres -c "psql -qc \"create role engagement login createdb password 'engagement'\""
su postgres -c "psql -qtAc \"select 1 from pg_database where datname='engagement'\"" | grep -q 1 ||
  su postgres -c "createdb -O engagement engagement"
