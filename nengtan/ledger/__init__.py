"""The tamper-evident trail: an append-only, hash-chained ledger of landed files and
published nights, and ``verify``, which re-hashes both against it.

Why: the figures we publish go to a regulator; the ledger makes a change to a landed file or
the serving copy made outside the pipeline visible, naming the file or table.

The package, by job:

- :mod:`nengtan.ledger.chain`: the append-only hash chain, its file locking and torn-line repair;
  ``read_ledger``, ``head`` (the anchor to keep outside our systems).
- :mod:`nengtan.ledger.record`: what a night or a publish records (``record_from_load_log``,
  ``record_files``, ``record_publish``, ``record_event``).
- :mod:`nengtan.ledger.verification`: ``nengtan verify``.
- Table hashes live in :mod:`nengtan.fingerprint`, shared with publish and report snapshots.

The names below are the ones callers used when this was one module; they stay importable
from ``nengtan.ledger``.
"""

from nengtan.fingerprint import TABLE_HASH_SCHEME, canonical, row_sums, table_hashes, zone_free
from nengtan.ledger.chain import GENESIS_HASH, LedgerError, compute_entry_hash, head, read_ledger
from nengtan.ledger.record import (
    record_event,
    record_files,
    record_from_load_log,
    record_publish,
    sha256_file,
)
from nengtan.ledger.verification import PROBLEM_KINDS, REGISTRY_FILES, VerifyReport, _check_landing, verify

__all__ = [
    "GENESIS_HASH", "PROBLEM_KINDS", "REGISTRY_FILES", "TABLE_HASH_SCHEME", "LedgerError", "VerifyReport",
    "_check_landing", "canonical", "compute_entry_hash", "head", "read_ledger", "record_event", "record_files",
    "record_from_load_log", "record_publish", "row_sums", "sha256_file", "table_hashes", "verify", "zone_free",
]
