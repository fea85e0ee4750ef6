"""The M&V step's asset: emitted by ``nengtan_mv`` every night, measured or not (a night whose
inputs did not change keeps the held results), so checks and publish follow it."""

from __future__ import annotations

from airflow.sdk import Asset

MV = Asset("nengtan://warehouse/mv")
