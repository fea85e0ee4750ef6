"""The report archive: ``reports/YYYY-MM/v<N>/`` with a manifest, never overwritten.

A version directory is built under a temporary name and renamed into place when
complete, so a reader never sees half a version. Each manifest names the snapshot the
files were rendered from and the run that made them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nengtan.config import Settings, settings

MANIFEST = "manifest.json"
DELIVERY = "delivery.json"
_VERSION_DIR = re.compile(r"^v(\d+)$")


def month_dir(month: str, cfg: Settings | None = None) -> Path:
    return (cfg or settings()).reports_dir / month


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def versions(month: str, cfg: Settings | None = None) -> list[tuple[int, Path]]:
    root = month_dir(month, cfg)
    if not root.exists():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if p.is_dir() and (m := _VERSION_DIR.match(p.name))]
    return sorted(found)


def read_manifest(version_dir: Path) -> dict[str, Any]:
    return json.loads((version_dir / MANIFEST).read_text(encoding="utf-8"))


def latest(month: str, cfg: Settings | None = None) -> tuple[int, Path, dict[str, Any]] | None:
    """The newest complete version of the month (one with a manifest), if any."""
    for number, path in reversed(versions(month, cfg)):
        if (path / MANIFEST).exists():
            return number, path, read_manifest(path)
    return None


def staging_dir(month: str, version: int, cfg: Settings | None = None) -> Path:
    path = month_dir(month, cfg) / f".v{version}.tmp-{os.getpid()}"
    if path.exists():
        for child in sorted(path.rglob("*"), reverse=True):
            child.unlink() if child.is_file() else child.rmdir()
        path.rmdir()
    path.mkdir(parents=True)
    return path


def file_entry(root: Path, path: Path, *, snapshot_id: str, version: int, run_id: str, **extra: Any) -> dict:
    return {"file": path.relative_to(root).as_posix(), "sha256": sha256_file(path), "snapshot_id": snapshot_id,
            "version": version, "run_id": run_id, **extra}


def write_manifest(version_dir: Path, manifest: dict[str, Any]) -> Path:
    """Write the manifest (atomically: temp file then replace)."""
    path = version_dir / MANIFEST
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)
    return path


def commit_version(staging: Path, month: str, version: int, cfg: Settings | None = None) -> Path:
    """Move a finished staging directory to ``v<N>``; refuses to replace an existing one."""
    final = month_dir(month, cfg) / f"v{version}"
    if final.exists():
        raise FileExistsError(f"report version {final} already exists; versions are never overwritten")
    os.rename(staging, final)
    return final


def new_manifest(month: str, version: int, snapshot_id: str, run_id: str,
                 previous: dict[str, Any] | None) -> dict[str, Any]:
    return {"month": month, "version": version, "snapshot_id": snapshot_id, "run_id": run_id,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "previous": None if previous is None else {"version": previous["version"],
                                                        "snapshot_id": previous["snapshot_id"]},
            "files": []}


def read_delivery(version_dir: Path) -> dict[str, Any]:
    path = version_dir / DELIVERY
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def write_delivery(version_dir: Path, delivery: dict[str, Any]) -> None:
    path = version_dir / DELIVERY
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(delivery, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)
