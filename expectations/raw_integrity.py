"""Blocking checks right after the load (stage 'raw'), on the files this run loaded.

- ``no_null_keys``: no row loaded by this run has an empty key column. A row's ``landed_at`` is its
  file's, so the rows of the run's files are found from the first landing time among them on: the scan
  of a raw table that keeps a year skips the row groups of older files (their zonemaps).
- ``load_log_balanced``: for each file this run loaded, rows_read = rows_loaded +
  rows_quarantined (nothing lost, nothing invented).
"""

from nengtan.quality.rules import Rule, Suite, between

KEYS = {
    "raw.parks": ("park_id",),
    "raw.enterprises": ("credit_code", "park_id"),
    "raw.meters": ("meter_id", "credit_code", "energy_type"),
    "raw.meter_readings": ("meter_id", "interval_start", "register_end"),
    "raw.declarations": ("credit_code", "period", "submission_id", "item"),
    "raw.green_certificates": ("certificate_id",),
    "raw.targets": ("level", "entity_id", "year"),
    "raw.ets": ("credit_code", "year"),
    "raw.projects": ("project_id", "credit_code", "updated_at"),
    "raw.weather": ("district", "date"),
}


def _null_keys_sql() -> str:
    parts = []
    for table, cols in KEYS.items():
        cond = " OR ".join(f"{c} IS NULL OR trim(CAST({c} AS VARCHAR)) = ''" for c in cols)
        parts.append(f"""
SELECT '{table}' AS entity_id, NULL::VARCHAR AS credit_code, NULL::VARCHAR AS park_id,
       NULL::VARCHAR AS meter_id, '{", ".join(cols)}' AS key_columns, count(*) AS n_rows,
       count(*) FILTER (WHERE {cond}) AS null_keys,
       string_agg(DISTINCT l.path, ', ') FILTER (WHERE {cond}) AS files,
       NULL::VARCHAR AS recipient
FROM {table} t JOIN raw.load_log l USING (file_id)
WHERE l.run_id = $run_id AND t.landed_at >= $run_landed_from""")
    return "\nUNION ALL".join(parts)


LOAD_LOG_SQL = """
SELECT path AS entity_id, NULL::VARCHAR AS credit_code, NULL::VARCHAR AS park_id,
       NULL::VARCHAR AS meter_id, source, rows_read, rows_loaded, rows_quarantined,
       rows_read - rows_loaded - rows_quarantined AS imbalance, NULL::VARCHAR AS recipient
FROM raw.load_log WHERE run_id = $run_id ORDER BY path
"""

SUITES = [
    Suite(
        name="raw_keys", stage="raw", severity="blocking", level="pipeline", sql=_null_keys_sql(),
        requires=tuple(KEYS) + ("raw.load_log",),
        lookups=(("run_landed_from", "SELECT min(landed_at) FROM raw.load_log WHERE run_id = $run_id"),),
        rules=(Rule(name="no_null_keys", column="null_keys",
                    expectation=between("null_keys", max_value=0),
                    expected="0", fmt="{:d}",
                    what_zh="{entity_id} 有 {observed} 行键列（{key_columns}）为空，来自文件 {files}",
                    what_en="{entity_id}: {observed} rows with an empty key ({key_columns}), from {files}",
                    todo_zh="检查加载程序的校验：空键行应进入 raw.quarantine 并注明原因",
                    todo_en="check the loader's validation: rows with empty keys belong in raw.quarantine with a reason"),),
    ),
    Suite(
        name="raw_load_log", stage="raw", severity="blocking", level="pipeline", sql=LOAD_LOG_SQL,
        requires=("raw.load_log",),
        rules=(Rule(name="load_log_balanced", column="imbalance",
                    expectation=between("imbalance", min_value=0, max_value=0),
                    expected="rows_read = rows_loaded + rows_quarantined", fmt="{:d}",
                    what_zh="文件 {entity_id}（{source}）读入 {rows_read} 行，入库 {rows_loaded} 行，隔离 {rows_quarantined} 行，差 {observed}",
                    what_en="file {entity_id} ({source}): read {rows_read}, loaded {rows_loaded}, quarantined {rows_quarantined}; off by {observed}",
                    todo_zh="检查加载程序的计数与事务，重跑该文件的加载",
                    todo_en="check the loader's counting and transaction, and reload the file"),),
    ),
]
