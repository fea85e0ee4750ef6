"""Great Expectations, quietly: one ephemeral context per run, pandas frames only.

GX 1.24 through SQLAlchemy on DuckDB fails on every expectation (upstream bug), so
the checks pre-aggregate in DuckDB SQL and hand GX the (small) aggregated pandas
frames. GX is imported lazily: the import alone takes ~10 s and logs hundreds of
lines, which we silence here rather than in every caller.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

_NOISY_LOGGERS = ("great_expectations", "great_expectations._docs_decorators",
                  "great_expectations.datasource.fluent.type_lookup", "posthog", "tzlocal")


def quiet_gx() -> Any:
    """Import great_expectations with its logging, analytics and progress bars muted."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import great_expectations as gx
    return gx


def preload_gx() -> None:
    """Import GX and what a session imports when it starts: a long-lived night worker does this once,
    before it forks the nights (nengtan.orchestration.worker)."""
    quiet_gx()
    import great_expectations.data_context.types.base  # noqa: F401


@dataclass
class ExpectationOutcome:
    """What GX said about one expectation: success, counts, and which ids failed."""

    success: bool
    element_count: int
    unexpected_count: int
    failed_ids: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)


class GxSession:
    """An ephemeral GX context with one pandas datasource and a Data Docs site."""

    def __init__(self, data_docs_dir: Path | None = None) -> None:
        gx = quiet_gx()
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        self.gx = gx
        self.data_docs_dir = data_docs_dir
        sites = {}
        if data_docs_dir is not None:
            data_docs_dir.mkdir(parents=True, exist_ok=True)
            sites["nengtan"] = {
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                                  "base_directory": str(data_docs_dir)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            data_docs_sites=sites,
            progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
            analytics_enabled=False,
        )
        self.ctx = gx.get_context(project_config=config, mode="ephemeral")
        self.datasource = self.ctx.data_sources.add_pandas("nengtan_frames")

    def validate(self, name: str, frame: pd.DataFrame, expectations: list[Any],
                 id_columns: list[str]) -> list[ExpectationOutcome]:
        """Validate ``frame`` against ``expectations``; results in the same order.

        ``result_format=COMPLETE`` with ``unexpected_index_column_names`` tells us WHICH
        meter/enterprise failed, not only how many.
        """
        gx = self.gx
        asset = self.datasource.add_dataframe_asset(name)
        batch_def = asset.add_batch_definition_whole_dataframe(f"{name}_whole")
        suite = self.ctx.suites.add(gx.ExpectationSuite(name=name))
        for exp in expectations:
            suite.add_expectation(exp)
        vdef = self.ctx.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch_def, suite=suite))
        # No per-checkpoint UpdateDataDocsAction: rendering costs ~1 s per build (jinja
        # compiles every template), so build_docs() renders the whole site once per run.
        checkpoint = self.ctx.checkpoints.add(gx.Checkpoint(
            name=f"{name}_checkpoint", validation_definitions=[vdef], actions=[],
            result_format={"result_format": "COMPLETE",
                           "unexpected_index_column_names": id_columns,
                           "return_unexpected_index_query": False},
        ))
        run = checkpoint.run(batch_parameters={"dataframe": frame})
        (vresult,) = run.run_results.values()
        # GX keeps the suite's order; match by position (each expectation appears once).
        outcomes = []
        for res in vresult.results:
            result = res.result or {}
            failed = list(result.get("unexpected_index_list") or [])
            if res.exception_info and res.exception_info.get("raised_exception"):
                raise RuntimeError(f"GX expectation failed to run in {name}: "
                                   f"{res.exception_info.get('exception_message')}")
            outcomes.append(ExpectationOutcome(
                success=bool(res.success),
                element_count=int(result.get("element_count") or len(frame)),
                unexpected_count=int(result.get("unexpected_count") or len(failed)),
                failed_ids=failed, raw=result))
        return outcomes

    def build_docs(self) -> Path | None:
        """Render the Data Docs site (all validations of this session) once; its index."""
        if self.data_docs_dir is None:
            return None
        self.ctx.build_data_docs(site_names=["nengtan"])
        return self.data_docs_dir / "index.html"
