"""Routed checks right after the load (stage 'raw') on the registry deliveries this run saw.

- ``registry_delivery_applied``: a registry file this run held back (header-only or a small share of
  the keys in force; ``nengtan.ingest.registry``) goes to the on-call engineer: the night goes on
  with the registry in force, and upstream has to deliver the whole file again.
"""

from nengtan.quality.rules import Rule, Suite, between

HELD_SQL = """
SELECT path AS entity_id, NULL::VARCHAR AS credit_code, NULL::VARCHAR AS park_id, NULL::VARCHAR AS meter_id,
       NULL::VARCHAR AS recipient, source, strftime(landed_at, '%Y-%m-%d %H:%M:%S') AS landed,
       error AS detail, 1 AS held
FROM raw.load_log
WHERE run_id = $run_id AND source LIKE 'registry_%' AND status = 'rejected'
  AND error LIKE '%registry delivery held back%'
ORDER BY path
"""

SUITES = [
    Suite(
        name="registry_deliveries", stage="raw", severity="routed", level="pipeline", sql=HELD_SQL,
        requires=("raw.load_log",),
        rules=(Rule(name="registry_delivery_applied", column="held",
                    expectation=between("held", max_value=0), expected="applied", fmt="{:d}",
                    what_zh="登记文件 {entity_id}（{landed} 到达）未被采用，沿用现行登记：{detail}",
                    what_en="registry file {entity_id} (landed {landed}) held back, the registry in force stays: "
                            "{detail}",
                    todo_zh="请上游重新完整交付该文件；下一晚自动采用",
                    todo_en="ask upstream to deliver the whole file again; the next night applies it"),),
    ),
]
