"""Table fingerprints: what a table's content hashes to, whatever order its rows are stored in.

Why one module: the ledger records each published table's hash and ``nengtan verify`` re-hashes
the serving copy against it; a month's report snapshot is named by the hash of its marts; publish
derives the hashes of tables it updated in place from the row sums of the rows it removed and
added. All of them use :func:`table_entry` over :func:`row_sums`, so a table hashes the same
wherever it is hashed. :func:`quick_fingerprint` is the one other check, kept because it is
several times faster (see its docstring): it decides only whether publish may skip rewriting a
big table, and is never recorded.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import duckdb

from nengtan.warehouse import connect, count_rows

TABLE_HASH_SCHEME = "text-md5-sum-v1"


def canonical(obj: Any) -> bytes:
    """The one byte form that is hashed and written: sorted keys, no spaces, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


_PLAIN_TYPES = re.compile(
    r"^(U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)|FLOAT|DOUBLE|DECIMAL\(\d+,\s*\d+\)|BOOLEAN|DATE|TIME"
    r"|TIME WITH TIME ZONE|TIMESTAMP(_S|_MS|_NS)?|TIMESTAMP WITH TIME ZONE|INTERVAL|UUID)$"
)


def _column_text(name: str, data_type: str) -> str:
    """SQL rendering one column as text that can never contain the separator chr(31).

    Numbers, dates, times, booleans, UUIDs print without it; nested values go through
    to_json (which escapes control characters); any other text is escaped (backslash
    doubled, chr(31) as \\u). NULL is \\N, which no escaped value can be.
    """
    col = _quote(name)
    if _PLAIN_TYPES.match(data_type.upper()):
        text = f"{col}::VARCHAR"
    elif data_type.endswith("]") or data_type.upper().startswith(("STRUCT", "MAP", "UNION")):
        text = f"to_json({col})::VARCHAR"
    else:
        text = f"replace(replace({col}::VARCHAR, '\\', '\\\\'), chr(31), '\\u')"
    return f"coalesce({text}, '\\N')"


def row_sums(con, relation: str, columns: list[tuple[str, str]], where: str = "") -> tuple[int, int, int]:
    """(rows, sum of the high halves, sum of the low halves) of the rows' MD5s, see :func:`table_hashes`.
    ``relation`` is a quoted name, ``where`` an optional condition; ``columns`` the relation's
    (name, type) in declared order. Timestamps with time zone render in the session's zone."""
    row_text = "concat_ws(chr(31), " + ", ".join(_column_text(n, t) for n, t in columns) + ")"
    rows, hi, lo = con.execute(
        "SELECT count(*), coalesce(sum((m >> 64)::HUGEINT), 0), "
        "coalesce(sum((m & 18446744073709551615::UHUGEINT)::HUGEINT), 0) "
        f"FROM (SELECT md5_number({row_text}) AS m FROM {relation}{' WHERE ' + where if where else ''})"
    ).fetchone()
    return int(rows), int(hi), int(lo)


def zone_free(columns: list[tuple[str, str]]) -> bool:
    """No column renders differently by session time zone: sums taken on any connection agree."""
    return not any("TIME ZONE" in t.upper() for _, t in columns)


def table_entry(columns: list[tuple[str, str]], rows: int, hi: int, lo: int) -> dict:
    """``{rows, hash, sum_hi, sum_lo}`` of a table from its (name, type) columns and :func:`row_sums`;
    ``hash`` is the SHA-256 of the scheme, the columns, the row count and both sums."""
    material = {"scheme": TABLE_HASH_SCHEME, "columns": [list(c) for c in columns],
                "rows": rows, "sum_hi": str(hi), "sum_lo": str(lo)}
    return {"rows": rows, "hash": hashlib.sha256(canonical(material)).hexdigest(),
            "sum_hi": str(hi), "sum_lo": str(lo)}


def relation_hashes(con: duckdb.DuckDBPyConnection, schema: str | None = None,
                    derived: dict[str, tuple[int, int, int]] | None = None,
                    used: set[str] | None = None) -> dict[str, dict]:
    """``{schema.table: table_entry}`` for every table and view of the connection's current
    database (only ``schema``'s when given), see :func:`table_hashes`. Timestamps with time zone
    render in UTC, so the hashes do not depend on where they are taken; the session's zone is
    restored afterwards."""
    derived = derived or {}
    zone = con.execute("SELECT current_setting('TimeZone')").fetchone()[0]
    con.execute("SET TimeZone = 'UTC'")
    try:
        relations = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database() AND (? IS NULL OR table_schema = ?) ORDER BY 1, 2",
            [schema, schema],
        ).fetchall()
        out: dict[str, dict] = {}
        for table_schema, table in relations:
            columns = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ? "
                "ORDER BY ordinal_position",
                [table_schema, table],
            ).fetchall()
            name, relation = f"{table_schema}.{table}", f"{_quote(table_schema)}.{_quote(table)}"
            sums = derived.get(name)
            if sums is None or not zone_free(columns) or sums[0] != count_rows(con, relation):
                sums = row_sums(con, relation, columns)
            elif used is not None:
                used.add(name)
            out[name] = table_entry(columns, *sums)
        return out
    finally:
        con.execute("SET TimeZone = '" + zone.replace("'", "''") + "'")


def table_hashes(db: Path, derived: dict[str, tuple[int, int, int]] | None = None,
                 used: set[str] | None = None) -> dict[str, dict]:
    """``{schema.table: {rows, hash, sum_hi, sum_lo}}`` for every table and view of a DuckDB file.

    The hash is order-independent, so it survives DuckDB storing rows differently: each row
    is rendered as one unambiguous text (its columns in declared order, see
    :func:`_column_text`, joined by chr(31)), hashed with MD5 to 128 bits, and the two
    64-bit halves are summed as HUGEINT over all rows (no wrap-around, so duplicate rows
    count and never cancel as with XOR). The table hash is the SHA-256 of (scheme, column
    names and types, row count, both sums). Changing any value changes that row's MD5 and
    so the sums, unless someone finds an MD5 preimage. One parallel scan per table, bounded
    by DuckDB's md5: about 0.4 M rows/s on two cores for an eleven-column mart (7 M rows in
    ~17 s). Timestamps with time zone render in UTC.

    Sums add up, so a table updated in place needs no rescan: ``derived`` gives (rows, sum_hi,
    sum_lo) worked out from the previous publish's sums and the rows removed and added
    (``nengtan.ledger.record.record_publish``); they are used when the table's row count agrees
    and no column renders by time zone (their names go into ``used``). ``verify`` re-hashes
    everything whenever the file's bytes differ.
    """
    con = connect(Path(db), read_only=True)
    try:
        return relation_hashes(con, derived=derived, used=used)
    finally:
        con.close()


def content_hash(con: duckdb.DuckDBPyConnection, schema: str) -> str:
    """One SHA-256 naming the content of every table of ``schema``: over the scheme and each
    table's name and :func:`table_entry` hash, so it changes when any table's columns, types or
    rows do, and not when rows are stored in another order."""
    tables = {name: entry["hash"] for name, entry in relation_hashes(con, schema).items()}
    return hashlib.sha256(canonical({"scheme": TABLE_HASH_SCHEME, "tables": tables})).hexdigest()


def quick_fingerprint(con: duckdb.DuckDBPyConnection, relation: str) -> tuple:
    """Row count and the sum of the rows' 64-bit hashes (HUGEINT: duplicates add up, nothing cancels).

    Why a second check beside :func:`row_sums`: publish compares a big table that is not updated
    in place with the serving copy's before rewriting it, two scans a night per such table.
    DuckDB's ``hash()`` is not cryptographic and may change between DuckDB versions, which is
    fine for an equality check between two tables in one process, never recorded; measured on a
    3 M-row, eleven-column table it takes about 0.9 s of CPU where :func:`row_sums` (MD5 per row)
    takes 5.9 s, whole processes included (6.6x).
    Nothing that is recorded or names something (ledger, snapshots) uses it.
    """
    return con.execute(f"SELECT count(*), sum(hash(fp_row)) FROM {relation} AS fp_row").fetchone()
