#!/usr/bin/env bash
# Superset keeps its metadata in its own database beside Airflow's (run once by the
# postgres image's entrypoint on first start).
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v pw="$POSTGRES_PASSWORD" <<'SQL'
CREATE ROLE superset LOGIN PASSWORD :'pw';
CREATE DATABASE superset OWNER superset;
SQL
