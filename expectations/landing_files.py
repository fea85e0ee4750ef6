"""Routed checks right after the load (stage 'raw') on the landing root as a whole.

- ``landing_file_read``: every file under the landing root that no source reads (a folder outside
  the contract, a malformed partition such as ``date=2026-01-00``, a link leading out of the root,
  a pipe; :func:`nengtan.ingest.discovery.survey`, kept in ``meta.landing_unread``) goes to the
  on-call engineer by name and reason, every night it is still there: nothing is left unread in silence.
"""

from nengtan.quality.rules import Rule, Suite, between

UNREAD_SQL = """
SELECT path AS entity_id, NULL::VARCHAR AS credit_code, NULL::VARCHAR AS park_id, NULL::VARCHAR AS meter_id,
       NULL::VARCHAR AS recipient, reason AS detail, 1 AS unread
FROM meta.landing_unread
WHERE run_id = $run_id
ORDER BY path
"""

SUITES = [
    Suite(
        name="landing_files", stage="raw", severity="routed", level="pipeline", sql=UNREAD_SQL,
        requires=("meta.landing_unread",),
        rules=(Rule(name="landing_file_read", column="unread",
                    expectation=between("unread", max_value=0), expected="read", fmt="{:d}",
                    what_zh="落地区文件 {entity_id} 未被任何数据源读取：{detail}",
                    what_en="landing file {entity_id} is read by no source: {detail}",
                    todo_zh="按数据契约移到正确的目录或更正文件名，或请上游删除；下一晚自动读取",
                    todo_en="move it where the data contract puts it or fix its name, or have upstream remove it; "
                            "the next night reads it"),),
    ),
]
