# Nengtan — two commands on a fresh machine: `make demo` and `make test`.
# Every install step lives here: Debian packages, uv, both Python environments (from lock files).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON      ?= $(shell command -v python3.11 || command -v python3)
UV_VERSION  := 0.13.8
UV          := $(PYTHON) -m uv
export UV_PYTHON := $(PYTHON)
export UV_LINK_MODE := copy
# Byte-compile at install: with PYTHONDONTWRITEBYTECODE set (as on CI machines) every process
# would otherwise recompile Airflow, dbt and GX from source (seconds per task and per test).
export UV_COMPILE_BYTECODE := 1
SUPERSET_ENV_DIR := dashboards/superset_env
# OpenDSM (the CalTRACK daily model for measured savings) needs pandas < 3 and multimethod < 2: its own
# environment (.venv-mv), which Airflow runs nengtan/mv in through @task.external_python.
MV_ENV_DIR := mv_env
# dbt-spark + pyspark 4.0 in their own environment (.venv-spark): the same dbt-core as .venv, so the one
# dbt project builds on DuckDB (default) and on Spark (NENGTAN_ENGINE=spark). Spark 4 runs on Java 17.
SPARK_ENV_DIR := spark_env
# Redis and PostgreSQL: the Celery executor's broker and Airflow's metadata DB, which the
# Celery test (tests/test_celery_night.py) starts on its own ports from Debian's binaries.
APT_PACKAGES := chromium chromium-driver fonts-noto-cjk poppler-utils redis-server postgresql
# Java 17 for Spark (tests/test_spark_*.py: the session method and the Thrift server in pyspark).
APT_PACKAGES += openjdk-17-jre-headless
# Optional dependency groups synced into .venv (pyproject.toml): the tools the tests use, and the
# distributed executor (Celery provider, Postgres driver, celery 5.6.x): a few MB, always installed.
VENV_EXTRAS := dev distributed
PYTEST_ARGS ?=

.PHONY: help setup system uv env superset-env spark-env mv-env demo test test-fast lint bench bench-quick bench-province clean

help:
	@echo "make demo        generate the demo city, run it through Airflow/dbt/GX, serve Airflow + Superset"
	@echo "make test        the whole test suite (what CI runs)"
	@echo "make lint        ruff + sqlfluff"
	@echo "make bench       city-scale benchmark (10,000 enterprises, 100,000 meters)"
	@echo "make bench-quick a smaller benchmark for everyday use (about 10 minutes on 2 cores)"
	@echo "make bench-province  one night of a province on DuckDB and on Spark local mode (PROVINCE_METERS=1000000)"

setup: system env superset-env spark-env mv-env

# Debian packages: headless Chromium for dashboard screenshots, CJK fonts for reports,
# poppler for looking at report PDFs, Redis and PostgreSQL for the Celery night. Installed
# only when missing. Installing them never starts a service the pipeline relies on: tests
# start their own servers on free ports.
system:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "[setup] installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

uv:
	@$(PYTHON) -m uv --version 2>/dev/null | grep -q "$(UV_VERSION)" || { echo "[setup] installing uv $(UV_VERSION)"; $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"; }

env: uv .venv/.synced
.venv/.synced: uv.lock pyproject.toml Makefile
	@echo "[setup] pipeline environment (.venv) from uv.lock"
	@$(UV) sync --frozen $(addprefix --extra ,$(VENV_EXTRAS)) --quiet
	@touch $@

superset-env: uv .venv-superset/.synced
.venv-superset/.synced: $(SUPERSET_ENV_DIR)/uv.lock $(SUPERSET_ENV_DIR)/pyproject.toml Makefile
	@echo "[setup] Superset environment (.venv-superset) from its own uv.lock"
	@cd $(SUPERSET_ENV_DIR) && UV_PROJECT_ENVIRONMENT=$(CURDIR)/.venv-superset $(UV) sync --frozen --quiet
	@touch $@

mv-env: uv .venv-mv/.synced
.venv-mv/.synced: $(MV_ENV_DIR)/uv.lock $(MV_ENV_DIR)/pyproject.toml Makefile
	@echo "[setup] M&V environment (.venv-mv: OpenDSM) from its own uv.lock"
	@cd $(MV_ENV_DIR) && UV_PROJECT_ENVIRONMENT=$(CURDIR)/.venv-mv $(UV) sync --frozen --quiet
	@touch $@

spark-env: uv .venv-spark/.synced
.venv-spark/.synced: $(SPARK_ENV_DIR)/uv.lock $(SPARK_ENV_DIR)/pyproject.toml Makefile
	@echo "[setup] Spark environment (.venv-spark) from its own uv.lock"
	@cd $(SPARK_ENV_DIR) && UV_PROJECT_ENVIRONMENT=$(CURDIR)/.venv-spark $(UV) sync --frozen --quiet
	@touch $@

demo: setup
	@.venv/bin/nengtan demo

test: setup
	@.venv/bin/pytest $(PYTEST_ARGS)

lint: env
	@.venv/bin/ruff check nengtan dags tests dashboards expectations
	@.venv/bin/sqlfluff lint dbt_project/models  # dialect, templater, rules: .sqlfluff

bench: setup
	@.venv/bin/nengtan bench

bench-quick: setup
	@.venv/bin/nengtan bench --quick

# Where one machine ends (docs/scale-out.md): a province of PROVINCE_METERS meters (96 readings each), one
# night on DuckDB and the same night on Spark local mode, timed with peak memory. ARGS passes more options
# (--engines, --duckdb-memory, --spark-memory, --work: `python -m nengtan.tools.bench.province --help`).
PROVINCE_METERS ?= 1000000
bench-province: setup
	@.venv/bin/python -m nengtan.tools.bench.province --meters $(PROVINCE_METERS) $(ARGS)

clean:
	rm -rf var dbt_project/target dbt_project/logs
