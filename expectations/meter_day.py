"""Per meter-day checks on ``marts.meter_daily`` (routed to the enterprise's energy manager).

Completeness is received intervals / 96, except on a day the meter was installed or
removed (meter replacement): then / the intervals it was in service (``raw.meters``).

Plausible range (documented choice): a meter-day is implausible when its quantity is
more than ``band_k`` (default 6) robust standard deviations from the median of the
same meter's non-silent days of the same kind (workdays vs weekends) among the previous
``band_history_days`` (28), where the robust
standard deviation is 1.4826 x MAD, floored at ``band_floor`` (10 %) of the median so
that flat loads do not flag every wiggle. The band is stretched to also cover the
median times the park's common movement that day (the median, over the park's >= 5
judged meters, of quantity / own median), so a holiday or a cold snap that moves a
whole park is not reported meter by meter. Meters with fewer than ``band_min_history``
(4) such days of history are not judged. Silent meters are reported by their own rule,
and their completeness is not reported twice.
"""

from nengtan.quality.rules import Rule, Suite, between, in_set

SQL = """
WITH hist AS (
    SELECT meter_id, median(quantity) AS med, mad(quantity) AS mad, count(*) AS n_hist
    FROM marts.meter_daily
    WHERE day >= CAST($day AS DATE) - CAST($band_history_days AS INTEGER)
      AND day < CAST($day AS DATE) AND NOT coalesce(is_silent, false)
      AND (isodow(day) >= 6) = (isodow(CAST($day AS DATE)) >= 6)   -- weekends vs workdays
    GROUP BY meter_id
), service AS (   -- intervals the meter was in service that day (install/removal mid-day)
    SELECT meter_id,
           arg_max(installed_at, landed_at) AS installed_at, arg_max(removed_at, landed_at) AS removed_at
    FROM raw.meters WHERE meter_id IS NOT NULL GROUP BY meter_id
), scored AS (
    SELECT d.*, h.med, h.n_hist,
           greatest(1.4826 * h.mad, $band_floor * abs(h.med), 1e-9) AS sigma,
           CASE WHEN h.n_hist >= $band_min_history AND h.med > 0 AND NOT coalesce(d.is_silent, false)
                THEN d.quantity / h.med END AS ratio,
           96 - least(96, greatest(0, date_diff('minute', CAST(d.day AS TIMESTAMP), s.installed_at) // 15))
              - least(96, greatest(0, date_diff('minute', s.removed_at,
                                                CAST(d.day AS TIMESTAMP) + INTERVAL 1 DAY) // 15))
              AS in_service_intervals
    FROM marts.meter_daily d LEFT JOIN hist h USING (meter_id) LEFT JOIN service s USING (meter_id)
    WHERE d.day = CAST($day AS DATE)
), park_factor AS (   -- what the whole park did today (holidays, weather): not a meter fault
    SELECT park_id, CASE WHEN count(ratio) >= 5 THEN median(ratio) ELSE 1.0 END AS f
    FROM scored GROUP BY park_id
), s AS (
    SELECT sc.*, least(sc.med, sc.med * coalesce(p.f, 1.0)) AS center_lo,
           greatest(sc.med, sc.med * coalesce(p.f, 1.0)) AS center_hi
    FROM scored sc LEFT JOIN park_factor p USING (park_id)
)
SELECT s.meter_id AS entity_id, s.meter_id, s.credit_code, s.park_id, s.day, s.energy_type,
       CASE s.energy_type WHEN 'electricity' THEN '电' WHEN 'natural_gas' THEN '天然气'
            WHEN 'heat' THEN '热力' WHEN 'steam' THEN '蒸汽' ELSE s.energy_type END AS energy_type_zh,
       s.quantity, s.backwards_faults, coalesce(s.is_silent, false) AS is_silent,
       CASE WHEN NOT coalesce(s.is_silent, false)
            THEN CASE WHEN coalesce(s.in_service_intervals, 96) BETWEEN 1 AND 95
                      THEN least(1.0, s.intervals_received / s.in_service_intervals)
                      ELSE s.completeness END
       END AS completeness,
       CASE WHEN s.n_hist >= $band_min_history AND NOT coalesce(s.is_silent, false)
            THEN greatest(s.center_lo - s.quantity, s.quantity - s.center_hi, 0) / s.sigma END AS robust_z,
       CASE WHEN s.n_hist >= $band_min_history
            THEN printf('%.3f .. %.3f', greatest(s.center_lo - $band_k * s.sigma, 0),
                        s.center_hi + $band_k * s.sigma)
       END AS band,
       e.contact_email AS recipient
FROM s LEFT JOIN marts.dim_enterprises e ON e.credit_code = s.credit_code
ORDER BY s.meter_id
"""

SUITES = [
    Suite(
        name="meter_day", stage="marts", severity="routed", level="meter", sql=SQL,
        requires=("marts.meter_daily", "marts.dim_enterprises", "raw.meters"),
        rules=(
            Rule(
                name="completeness_min",
                column="completeness",
                expectation=between("completeness", min_value=lambda cfg: cfg.completeness_min),
                expected=lambda cfg: f">= {cfg.completeness_min:.0%}", fmt="{:.1%}",
                what_zh="表计 {meter_id}（{energy_type_zh}）{day} 数据完整率 {observed}，要求 {expected}",
                what_en="meter {meter_id} ({energy_type}) on {day}: completeness {observed}, required {expected}",
                todo_zh="检查采集网关与通信链路，补传缺失的 15 分钟数据",
                todo_en="check the gateway and its link, and re-send the missing 15-minute readings",
            ),
            Rule(
                name="register_not_backwards",
                column="backwards_faults",
                expectation=between("backwards_faults", max_value=0),
                expected="0", fmt="{:d}",
                what_zh="表计 {meter_id} {day} 表码倒走（非翻转）{observed} 次，要求 {expected}",
                what_en="meter {meter_id} on {day}: register went backwards (not a rollover) {observed} times, required {expected}",
                todo_zh="核对表计与倍率，必要时现场检查或更换表计",
                todo_en="verify the meter and its multiplier; inspect or replace the meter if needed",
            ),
            Rule(
                name="meter_not_silent",
                column="is_silent",
                expectation=in_set("is_silent", [False]),
                expected="有数据 / reporting",
                what_zh="表计 {meter_id}（{energy_type_zh}）{day} 全天无数据（静默）",
                what_en="meter {meter_id} ({energy_type}) sent no data on {day} (silent)",
                todo_zh="检查表计供电、网关和通信，恢复上传",
                todo_en="check the meter's power, gateway and link, and restore uploads",
            ),
            Rule(
                name="quantity_plausible",
                column="robust_z",
                observed_column="quantity",
                expected_column="band",
                expectation=between("robust_z", max_value=lambda cfg: cfg.band_k),
                expected="",
                what_zh="表计 {meter_id}（{energy_type_zh}）{day} 用量 {observed} 超出其近 28 天的合理区间 {expected}",
                what_en="meter {meter_id} ({energy_type}) on {day}: quantity {observed} outside its plausible 28-day band {expected}",
                todo_zh="核实当日生产情况或表计/倍率是否异常，并说明原因",
                todo_en="confirm the day's operations or check the meter/multiplier, and explain the value",
            ),
        ),
    ),
    Suite(
        name="park_meters_day", stage="marts", severity="routed", level="park",
        requires=("marts.meter_daily", "marts.dim_parks"),
        sql="""
SELECT d.park_id AS entity_id, NULL::VARCHAR AS credit_code, d.park_id, NULL::VARCHAR AS meter_id,
       CAST($day AS DATE) AS day, count(*) AS n_meters,
       count(*) FILTER (WHERE coalesce(d.is_silent, false)) AS n_silent,
       avg(CASE WHEN coalesce(d.is_silent, false) THEN 1.0 ELSE 0.0 END) AS silent_share,
       p.contact_email AS recipient
FROM marts.meter_daily d LEFT JOIN marts.dim_parks p USING (park_id)
WHERE d.day = CAST($day AS DATE)
GROUP BY ALL ORDER BY d.park_id
""",
        rules=(
            Rule(
                name="park_silent_share",
                column="silent_share",
                expectation=between("silent_share", max_value=lambda cfg: cfg.silent_park_share),
                expected=lambda cfg: f"<= {cfg.silent_park_share:.0%}", fmt="{:.0%}",
                what_zh="园区 {park_id} {day} 有 {n_silent}/{n_meters} 块表静默（{observed}），要求 {expected}",
                what_en="park {park_id} on {day}: {n_silent} of {n_meters} meters silent ({observed}), required {expected}",
                todo_zh="园区范围的采集故障：检查园区网关/专网与数据平台连接",
                todo_en="park-wide outage: check the park's gateways/network and the platform connection",
            ),
        ),
    ),
]
