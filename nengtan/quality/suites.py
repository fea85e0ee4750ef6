"""Find the suites: every ``*.py`` module in the expectations directory with ``SUITES``.

Suites live as code in ``expectations/`` at the repository root (override with
``NENGTAN_EXPECTATIONS_DIR``), one module per subject; they are loaded by path so the
folder need not be an installed package.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from nengtan.config import REPO_ROOT
from nengtan.quality.rules import Suite


def expectations_dir() -> Path:
    value = os.environ.get("NENGTAN_EXPECTATIONS_DIR")
    return Path(value) if value else REPO_ROOT / "expectations"


def load_suites(stage: str | None = None, directory: Path | None = None) -> list[Suite]:
    """All suites (optionally of one stage), in file then declaration order."""
    directory = directory or expectations_dir()
    suites: list[Suite] = []
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(f"nengtan_expectations_{path.stem}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        suites.extend(getattr(module, "SUITES", []))
    names = [s.name for s in suites]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ValueError(f"duplicate suite names in {directory}: {sorted(dupes)}")
    return [s for s in suites if stage is None or s.stage == stage]
