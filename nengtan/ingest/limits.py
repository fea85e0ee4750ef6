"""Per-file limits and the shape of whole-file reasons: what a hostile upstream cannot make us do.

A file is read into memory to be validated, so its size bounds the load's memory: a 3 MB
``.csv.gz`` that expands to a gigabyte must be refused while it is being decompressed, not
after. The limits are read from the environment when a file is read (tests and operators can
change them without a restart):

- ``NENGTAN_MAX_FILE_MB`` (512): one file as read: the plain file, a ``.csv.gz`` after
  decompression (stopped at the limit), a Parquet or XLSX file's uncompressed data.
- ``NENGTAN_MAX_LINE_KB`` (16384): one physical line of a CSV file, the header included.
- ``NENGTAN_EARLIEST_READING`` (2000-01-01): a meter reading before this day is quarantined (the
  upper end is the fixed rule "more than 1 day after its file landed").

A file over a limit is rejected whole with the limit named in its reason. Whole-file reasons
are made printable (control characters escaped) and capped (:data:`REASON_CAP`), so a header of
16 KB of NUL bytes cannot become a 16 KB reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date

DEFAULT_MAX_FILE_MB = 512
DEFAULT_MAX_LINE_KB = 16 * 1024
DEFAULT_EARLIEST_READING = date(2000, 1, 1)
REASON_CAP = 500


def _env_number(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError as exc:
        raise ValueError(f"{name}={value!r} is not a number") from exc
    if number <= 0:
        raise ValueError(f"{name}={value!r} must be greater than 0")
    return number


def _env_date(name: str, default: date) -> date:
    value = os.environ.get(name, "").strip()
    try:
        return date.fromisoformat(value) if value else default
    except ValueError as exc:
        raise ValueError(f"{name}={value!r} is not a date YYYY-MM-DD") from exc


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int
    max_line_bytes: int
    earliest_reading: date = DEFAULT_EARLIEST_READING

    @staticmethod
    def from_env() -> Limits:
        return Limits(
            max_file_bytes=int(_env_number("NENGTAN_MAX_FILE_MB", DEFAULT_MAX_FILE_MB) * 1024 * 1024),
            max_line_bytes=int(_env_number("NENGTAN_MAX_LINE_KB", DEFAULT_MAX_LINE_KB) * 1024),
            earliest_reading=_env_date("NENGTAN_EARLIEST_READING", DEFAULT_EARLIEST_READING),
        )

    def file_limit_text(self) -> str:
        return f"{size_text(self.max_file_bytes)} (NENGTAN_MAX_FILE_MB)"

    def line_limit_text(self) -> str:
        return f"{size_text(self.max_line_bytes)} (NENGTAN_MAX_LINE_KB)"


def size_text(n: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"


def printable(text: str, cap: int = REASON_CAP) -> str:
    """``text`` with control and other unprintable characters escaped (``\\x00``, ``\\r``, a lone
    surrogate as ``\\udcff``), at most ``cap`` characters: a longer text keeps its head and its
    tail (the cause is usually at one end) around a note of how much was cut."""
    out = "".join(c if c.isprintable() or c == " " else c.encode("unicode_escape", "backslashreplace")
                  .decode("ascii") for c in text)
    if len(out) <= cap:
        return out
    half = (cap - 40) // 2
    return f"{out[:half]} [… {len(out) - 2 * half} characters cut …] {out[-half:]}"


def printable_name(name: str) -> str:
    """A path as text that can be stored and shown: bytes that are not UTF-8 (which ``os``
    hands over as lone surrogates) are written as ``\\xNN``."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return os.fsencode(name).decode("utf-8", "backslashreplace")
