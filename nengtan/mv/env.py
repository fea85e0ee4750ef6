"""Where the M&V environment is and what it needs from ours (imported by the pipeline side:
the DAG, the tests and ``nengtan.mv.load``; kept free of OpenDSM)."""

from __future__ import annotations

import os
from pathlib import Path

from nengtan.config import REPO_ROOT, Settings

MV_PYTHON = REPO_ROOT / ".venv-mv" / "bin" / "python"


def mv_dir(cfg: Settings) -> Path:
    """Everything M&V writes: results per night, the model store, numba's cache."""
    return cfg.data / "mv"


def numba_cache_dir(cfg: Settings) -> Path:
    """Numba compiles OpenDSM's fitting code on first use (about 90 s): cached under NENGTAN_DATA,
    so the cost is paid once per data root (``NUMBA_CACHE_DIR`` set by the operator wins)."""
    return Path(os.environ.get("NUMBA_CACHE_DIR") or mv_dir(cfg) / "numba-cache")


def mv_environ(cfg: Settings) -> dict[str, str]:
    """The environment a process in ``.venv-mv`` runs with."""
    env = dict(os.environ)
    env["NUMBA_CACHE_DIR"] = str(numba_cache_dir(cfg))
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return env
