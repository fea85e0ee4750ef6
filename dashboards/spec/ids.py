"""Stable identities of the bundle: every uuid is uuid5(NS, "<kind>:<name>"), so a rebuilt bundle
re-imports over the same objects (bootstrap.py recognises its datasets by the same namespace)."""

from __future__ import annotations

import uuid

NS = uuid.UUID("6f1c3a52-9d0e-4c1e-8a57-0d7b3c2e1a10")
DB_NAME = "nengtan_serving"


def uid(kind: str, name: str) -> str:
    return str(uuid.uuid5(NS, f"{kind}:{name}"))
