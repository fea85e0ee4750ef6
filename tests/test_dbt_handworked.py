"""A hand-worked city: a few meters over two days written straight into raw, run through the real
transform (dbt build), and compared to answers computed here from the published factors, to the last
decimal. Also: park = sum of enterprises, city = sum of parks exactly, and an incremental run after a
late file for day 1 equals a full refresh.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from nengtan.config import settings
from nengtan.credit_code import check_character
from nengtan.transform import restate_month, run_transform
from nengtan.warehouse import warehouse

D = Decimal
Q6 = D("0.000001")
Q12 = D("0.000000000001")
DAY1 = datetime(2026, 3, 1)
DAY2 = datetime(2026, 3, 2)
STEP = timedelta(minutes=15)


def code(i: int) -> str:
    first17 = f"91320214MA1N{i:05d}"
    return first17 + check_character(first17)


A, B, C = code(1), code(2), code(3)


def r6(x: Decimal) -> Decimal:
    return x.quantize(Q6, rounding=ROUND_HALF_UP)


# ---- published factors (methodology.md), written out independently of the seeds ---------------------
KGCE = {"electricity": D("0.1229"), "natural_gas": D("1.2143"), "heat": D("34.12"), "steam": D("128.6"),
        "raw_coal": D("714.3"), "diesel": D("1457.1"), "lpg": D("1714.3")}
COMB = {  # NCV (GJ per unit), carbon content tC/TJ, oxidation
    "natural_gas": (D("0.038931"), D("15.3"), D("0.99")),
    "raw_coal": (D("20.908"), D("26.37"), D("0.94")),
    "diesel": (D("42.652"), D("20.2"), D("0.98")),
    "lpg": (D("50.179"), D("17.2"), D("0.98")),
}
JIANGSU_2023 = D("0.5827")
NATIONAL_EXCL_MARKET_2023 = D("0.6096")
HEAT = D("0.11")
# steam's heat content for CO2: (enthalpy - 83.74 kJ/kg feed water) / 1000, the enthalpy from IAPWS-IF97 at the
# meter's pressure (nengtan.steam); C's steam meter delivers saturated steam at 1.0 MPa
STEAM_ENTHALPY = D("2777.1195376846617")
STEAM_GJ = (STEAM_ENTHALPY - D("83.74")) / 1000


def scope1_per_unit(fuel: str) -> Decimal:
    ncv, cc, ox = COMB[fuel]
    return (ncv * cc * ox * 44 / D(12000)).quantize(Q12, rounding=ROUND_HALF_UP)


def expected_month(q: dict[str, Decimal], green_kwh: Decimal) -> dict[str, Decimal]:
    tce = s1 = s2l = s2m = Decimal(0)
    for t, qty in q.items():
        tce += r6(qty * KGCE[t] * D("0.001"))
        if t in COMB:
            s1 += r6(qty * scope1_per_unit(t))
        if t == "steam":  # by its heat content, not per unit of the tce coefficient
            s2 = r6(qty * STEAM_GJ * HEAT)
            s2l += s2
            s2m += s2
            continue
        per2 = {"electricity": JIANGSU_2023 * D("0.001"), "heat": HEAT}.get(t, D(0))
        s2l += r6(qty * per2)
        if t == "electricity":
            s2m += r6(max(qty - green_kwh, D(0)) * NATIONAL_EXCL_MARKET_2023 * D("0.001"))
        else:
            s2m += r6(qty * per2)
    return {"energy_tce": tce, "scope1_co2_t": s1, "scope2_location_co2_t": s2l, "scope2_market_co2_t": s2m}


# ---- raw data ---------------------------------------------------------------------------------------
class Raw:
    def __init__(self, con):
        self.con = con
        self.n = 0

    def insert(self, table: str, columns: str, rows: list[tuple]) -> None:
        """Rows into a raw table by column name (the raw tables grow optional columns at their end)."""
        marks = ", ".join("?" * len(columns.split(",")))
        self.con.executemany(f"insert into raw.{table} ({columns}) values ({marks})", rows)

    def file(self, source: str, landed: datetime, rows: int = 0) -> str:
        self.n += 1
        fid = f"f{self.n:04d}"
        self.con.execute(
            "insert into raw.load_log values (?, ?, ?, null, ?, 0, ?, 'utf-8', ?, ?, 0, 'loaded', null, 'test', ?, null)",
            [fid, source, f"{source}/{fid}.csv", fid, landed, rows, rows, landed],
        )
        return fid

    def readings(self, rows: list[tuple[str, datetime, Decimal, str]], landed: datetime) -> str:
        fid = self.file("meter_readings", landed, len(rows))
        self.insert(
            "meter_readings", "meter_id, interval_start, reading_day, register_end, quality, file_id, landed_at,"
            " source_line", [(m, ts, ts.date(), reg, q, fid, landed, i + 2) for i, (m, ts, reg, q) in enumerate(rows)],
        )
        return fid


def series(meter: str, start: datetime, n: int, first: Decimal, step: Decimal, skip=(), override=None,
           modulus: Decimal | None = None) -> list[tuple[str, datetime, Decimal, str]]:
    out = []
    for k in range(n):
        if k in skip:
            continue
        value = first + step * (k + 1)
        if modulus is not None and value > modulus:
            value -= modulus
        if override and k in override:
            value = override[k]
        out.append((meter, start + STEP * k, value, "ok"))
    return out


LANDED = datetime(2026, 3, 3, 1, 0)
B_GAP = range(40, 48)  # B's electricity misses 10:00-11:45 on day 1 until the late file


def seed_registry(raw: Raw) -> None:
    fid = raw.file("registry_parks", LANDED, 2)
    raw.insert("parks", "park_id, name_zh, name_en, district, contact_email, file_id, landed_at, source_line", [
        ("P01", "一号园区", "Park One", "新吴区", "p01@x.cn", fid, LANDED, 2),
        ("P02", "二号园区", "Park Two", "滨湖区", "p02@x.cn", fid, LANDED, 3)])
    fid = raw.file("registry_enterprises", LANDED, 3)
    raw.insert("enterprises", "credit_code, name_zh, name_en, park_id, industry_code, key_energy_user, ets_covered,"
               " contact_email, file_id, landed_at, source_line", [
        (A, "甲", "Alpha", "P01", "39", True, False, "a@x.cn", fid, LANDED, 2),
        (B, "乙", "Beta", "P01", "26", True, True, "b@x.cn", fid, LANDED, 3),
        (C, "丙", "Gamma", "P02", "17", False, False, "c@x.cn", fid, LANDED, 4)])
    fid = raw.file("registry_meters", LANDED, 5)
    inst = datetime(2026, 3, 1)
    raw.insert("meters", "meter_id, credit_code, energy_type, unit, multiplier, register_max, register_at_install,"
               " installed_at, steam_pressure_mpa, steam_enthalpy_kj_kg, file_id, landed_at, source_line", [
        ("A-E1", A, "electricity", "kWh", D(10), D(99999), D(1000), inst, None, None, fid, LANDED, 2),
        ("A-G1", A, "natural_gas", "m3", D(1), D(999999), D(999900), inst, None, None, fid, LANDED, 3),
        ("B-E1", B, "electricity", "kWh", D(1), D(10000000), D(0), inst, None, None, fid, LANDED, 4),
        ("C-H1", C, "heat", "GJ", D(1), D(1000000), D(0), inst, None, None, fid, LANDED, 5),
        ("C-S1", C, "steam", "t", D(1), D(1000000), D(0), inst, D(1), float(STEAM_ENTHALPY), fid, LANDED, 6)])


def seed_others(raw: Raw) -> None:
    fid = raw.file("declarations", LANDED, 12)
    early, late = datetime(2026, 3, 2, 9), datetime(2026, 3, 2, 18)
    rows = [
        (A, "S1", early, "raw_coal", D(20), "t"), (A, "S1", early, "value_added", D(90), "10k CNY"),
        (A, "S2", late, "electricity_purchased", D(3000), "kWh"), (A, "S2", late, "raw_coal", D(10), "t"),
        (A, "S2", late, "diesel", D("0.5"), "t"), (A, "S2", late, "value_added", D(100), "10k CNY"),
        (A, "S2", late, "green_electricity_direct", D(500), "kWh"),
        (B, "S3", late, "value_added", D(200), "10k CNY"), (B, "S3", late, "natural_gas", D(1000), "m3"),
        (C, "S4", late, "value_added", D(50), "10k CNY"), (C, "S4", late, "lpg", D(1), "t"),
        (C, "S4", late, "electricity_purchased", D(2000), "kWh"),
    ]
    raw.insert("declarations", "credit_code, period, submission_id, submitted_at, item, quantity, unit, file_id,"
               " landed_at, source_line",
               [(c, "2026-03", s, t, i, q, u, fid, LANDED, n + 2) for n, (c, s, t, i, q, u) in enumerate(rows)])
    fid = raw.file("green_certificates", LANDED, 6)
    t1, t2 = datetime(2026, 3, 2, 10), datetime(2026, 3, 2, 11)
    certs = [("X1", A, t1), ("X1", B, t2), ("X2", B, t1), ("X3", C, t1), ("X4", C, t1), ("X5", C, t1)]
    raw.insert("green_certificates", "certificate_id, project_id, generation_month, owner_credit_code,"
               " claimed_period, claimed_at, file_id, landed_at, source_line",
               [(c, "PRJ", "2026-02", o, "2026-03", t, fid, LANDED, n + 2) for n, (c, o, t) in enumerate(certs)])
    fid = raw.file("targets", LANDED, 3)
    raw.insert("targets", "level, entity_id, year, energy_budget_tce, carbon_budget_tco2, energy_intensity_target,"
               " carbon_intensity_target, file_id, landed_at, source_line", [
        ("city", "320200", 2026, D(40), D(120), D("0.2"), D("0.5"), fid, LANDED, 2),
        ("park", "P01", 2026, D(20), D(50), D("0.01"), D("0.05"), fid, LANDED, 3),
        ("enterprise", A, 2026, D("12.5"), D(60), D("0.02"), D("0.1"), fid, LANDED, 4)])


def seed_readings(raw: Raw, *, late: bool) -> None:
    a_e1 = series("A-E1", DAY1, 96, D(1000), D(1), skip=(10, 11, 12, 13), override={50: D(1040)})
    a_e1 += series("A-E1", DAY2, 96, D(1096), D(2))
    gas = series("A-G1", DAY1, 192, D(999900), D(3), modulus=D(999999))
    b_e1 = series("B-E1", DAY1, 96, D(0), D(50), skip=B_GAP) + series("B-E1", DAY2, 96, D(4800), D(50))
    heat = series("C-H1", DAY1, 192, D(0), D("0.5"))
    steam = series("C-S1", DAY1, 192, D(0), D("0.125"))
    day1 = [r for r in a_e1 + gas + b_e1 + heat + steam if r[1] < DAY2]
    day2 = [r for r in a_e1 + gas + b_e1 + heat + steam if r[1] >= DAY2]
    raw.readings(day1, LANDED)
    raw.readings(day1[:40], LANDED + timedelta(minutes=5))  # exact repeats collapse
    raw.readings(day2, LANDED + timedelta(days=1))
    if late:
        raw.readings(late_rows(), LANDED + timedelta(days=2))


def late_rows() -> list[tuple[str, datetime, Decimal, str]]:
    return [("B-E1", DAY1 + STEP * k, D(50) * (k + 1), "ok") for k in B_GAP]


def query(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def make_cfg(root: Path, monkeypatch):
    monkeypatch.setenv("NENGTAN_DATA", str(root / "data"))
    monkeypatch.setenv("NENGTAN_LANDING", str(root / "landing"))
    return settings()


def build_city(cfg, *, late_in_first_run: bool):
    with warehouse(cfg) as con:
        raw = Raw(con)
        seed_registry(raw)
        seed_others(raw)
        seed_readings(raw, late=late_in_first_run)
    return run_transform("run-1", cfg=cfg)


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """The hand-worked city with every file (including the late one for day 1), built once."""
    mp = pytest.MonkeyPatch()
    cfg = make_cfg(tmp_path_factory.mktemp("handworked"), mp)
    summary = build_city(cfg, late_in_first_run=True)
    yield cfg, summary, snapshot(cfg)
    mp.undo()


MONTHLY_COLS = ("energy_tce", "scope1_co2_t", "scope2_location_co2_t", "scope2_market_co2_t")


def test_marts_equal_hand_computation(city):
    cfg, summary, _ = city
    assert summary["tests_failed"] == 0 and summary["models"] > 10 and summary["unit_tests"] >= 10

    quantities = {
        A: {"electricity": D(960 + 1920), "natural_gas": D(576), "raw_coal": D(10), "diesel": D("0.5")},
        B: {"electricity": D(9600), "natural_gas": D(1000)},
        C: {"heat": D(96), "steam": D(24), "lpg": D(1), "electricity": D(2000)},
    }
    # Certificates count once, first valid claim, capped at the month's electricity: A's X1 (1 MWh; its declared
    # 500 kWh of green-power trade has no green_power certificate behind it, so it is a finding, not a deduction),
    # B's X2 (its claim of X1 is a double count), C's X3-X5 capped at its 2,000 kWh (1 MWh unused).
    green = {A: D(1000), B: D(1000), C: D(2000)}
    unused = {A: D(0), B: D(0), C: D(1)}
    value_added = {A: D(100), B: D(200), C: D(50)}
    with warehouse(cfg) as con:
        rows = {r[0]: r[1:] for r in query(con, f"""
            select credit_code, {', '.join(MONTHLY_COLS)}, green_mwh, value_added_10k_cny, park_id,
                   gap_pct_electricity, energy_intensity, co2_t, energy_tce_non_fossil, energy_tce_dual_control,
                   green_mwh_unused, green_direct_uncovered_mwh, is_provisional, declaration_status
            from marts.enterprise_carbon_monthly where month = date '2026-03-01'""")}
        assert set(rows) == {A, B, C}
        for ent, q in quantities.items():
            exp = expected_month(q, green[ent])
            got = dict(zip(MONTHLY_COLS, rows[ent][:4], strict=True))
            assert got == exp, ent
            assert rows[ent][4] == green[ent] / 1000
            assert rows[ent][5] == value_added[ent]
            non_fossil = r6(green[ent] * D("0.0001229"))  # 2026: out of the total and of intensity
            assert rows[ent][10] == non_fossil
            assert rows[ent][11] == exp["energy_tce"] - non_fossil
            assert rows[ent][8] == pytest.approx(float((exp["energy_tce"] - non_fossil) / value_added[ent]))
            assert rows[ent][9] == exp["scope1_co2_t"] + exp["scope2_location_co2_t"]
            assert rows[ent][12] == unused[ent]
            assert rows[ent][14:] == (False, "on_time")
        assert rows[A][13] == D("0.5") and rows[B][13] == 0
        # C's certificates exceed its electricity: market-based electricity is zero, never negative
        assert expected_month({"electricity": D(2000)}, green[C])["scope2_market_co2_t"] == 0
        # declared 3000 kWh vs metered 2880 kWh
        assert rows[A][7] == pytest.approx(float((D(3000) - D(2880)) * 100 / D(2880)), abs=1e-4)
        assert rows[B][7] is None  # no declaration of electricity

        # daily: A's electricity day 1: 4 missing + 1 fault -> 91 received, 5 estimated; total exact
        daily = query(con, f"""
            select quantity, intervals_received, intervals_estimated, completeness, energy_tce, co2_t
            from marts.enterprise_energy_daily where credit_code = '{A}' and energy_type = 'electricity'
            order by day""")
        assert [d[0] for d in daily] == [D(960), D(1920)]
        assert daily[0][1:4] == (91, 5, D("0.9479"))
        assert daily[0][4] == r6(D(960) * D("0.0001229"))
        assert daily[0][5] == r6(D(960) * JIANGSU_2023 * D("0.001"))
        md = query(con, """select meter_id, day, backwards_faults, rollovers, is_silent, quantity
                           from marts.meter_daily order by meter_id, day""")
        by = {(m, d): tuple(rest) for m, d, *rest in md}
        assert by[("A-E1", date(2026, 3, 1))][:2] == (1, 0)
        assert by[("A-G1", date(2026, 3, 1))][1] == 1  # the gas register rolled over
        assert by[("A-G1", date(2026, 3, 1))][3] == D(288)
        # estimated intervals carry the spread delta: 5 kWh x10 over 5 intervals = 10 each
        spread = query(con, """select quantity, is_estimated from intermediate.int_meter_intervals
                               where meter_id = 'A-E1' and interval_start between
                               timestamp '2026-03-01 02:30' and timestamp '2026-03-01 03:30' order by interval_start""")
        assert spread == [(D(10), True)] * 4 + [(D(10), False)]

        # park = sum of enterprises, city = sum of parks, exactly (DECIMAL)
        for col in (*MONTHLY_COLS, "co2_t", "green_mwh"):
            assert query(con, f"""
                select count(*) from marts.park_carbon_monthly p join (
                    select park_id, month, sum({col}) s from marts.enterprise_carbon_monthly group by all
                ) e using (park_id, month) where p.{col} <> e.s""")[0][0] == 0
            city, parks = query(con, f"""select (select {col} from marts.city_carbon_monthly
                where city_id = '320200' and month = date '2026-03-01'),
                (select sum({col}) from marts.park_carbon_monthly where month = date '2026-03-01')""")[0]
            assert city == parks
        p01 = query(con, "select energy_tce, ytd_energy_tce from marts.park_carbon_monthly where park_id='P01'")
        assert p01 == [(sum((expected_month(quantities[e], green[e])["energy_tce"] for e in (A, B)), D(0)),) * 2]

        # double claim: X1's second claim (by B) is flagged and does not count; C's third certificate is over
        # its month's electricity
        claims = query(con, """select certificate_id, owner_credit_code, is_double_claim, counted, reason_not_counted
                               from marts.certificate_claims order by certificate_id, claim_rank""")
        assert claims == [("X1", A, False, True, None), ("X1", B, True, False, "double_claim"),
                          ("X2", B, False, True, None), ("X3", C, False, True, None), ("X4", C, False, True, None),
                          ("X5", C, False, False, "over_consumption")]

        # warnings: as of 2026-03-02, 61 days elapsed of 365; per source over its own coverage: A's metered
        # electricity and gas per day metered, its declared coal and diesel (less the non-fossil deduction) per
        # declared month
        warn = query(con, f"""select ytd_value, projected_year_end, ratio, warning_level, is_provisional
                             from marts.dual_control_warnings where level = 'enterprise'
                             and entity_id = '{A}' and metric = 'energy'""")
        exp_a = expected_month(quantities[A], green[A])
        metered = r6(D(2880) * KGCE["electricity"] / 1000) + r6(D(576) * KGCE["natural_gas"] / 1000)
        declared = exp_a["energy_tce"] - metered - r6(green[A] * D("0.0001229"))
        assert warn[0][0] == pytest.approx(float(metered + declared))
        projected = float(metered) / 61 * 365 + float(declared) * 12
        assert warn[0][1] == pytest.approx(projected)
        ratio = projected / 12.5
        assert warn[0][2] == pytest.approx(ratio)
        assert warn[0][4] is False
        level = "green" if ratio < 0.9 else "yellow" if ratio <= 1 else "orange" if ratio <= 1.1 else "red"
        assert warn[0][3] == level

        fa = query(con, "select distinct grid_location_data_year, grid_market_data_year from marts.factor_applied")
        assert fa == [(2023, 2023)]


def snapshot(cfg) -> dict[str, list[tuple]]:
    # int_meter_intervals shows only what its run rebuilt (a view): its history is int_meter_daily
    tables = ["intermediate.int_meter_readings", "intermediate.int_meter_daily", "marts.meter_daily",
              "marts.enterprise_energy_daily", "marts.enterprise_carbon_monthly", "marts.park_carbon_monthly",
              "marts.city_carbon_monthly", "marts.dual_control_warnings", "marts.park_energy_daily",
              "marts.energy_balance_monthly"]
    drop = {"file_id", "source_line", "built_run_id"}
    out = {}
    with warehouse(cfg) as con:
        for t in tables:
            cols = [c for (c,) in con.execute(
                f"select column_name from information_schema.columns where table_schema||'.'||table_name = '{t}'"
                " order by ordinal_position").fetchall() if c not in drop]
            out[t] = con.execute(f"select {', '.join(cols)} from {t} order by all").fetchall()
    return out


def test_late_file_incremental_equals_full_refresh(city, tmp_path, monkeypatch):
    _, _, with_late_from_start = city
    cfg = make_cfg(tmp_path, monkeypatch)
    build_city(cfg, late_in_first_run=False)
    with warehouse(cfg) as con:
        before = query(con, """select intervals_received, intervals_estimated from marts.meter_daily
                               where meter_id = 'B-E1' and day = date '2026-03-01'""")
        assert before == [(88, 8)]
        raw = Raw(con)
        raw.n = 100
        raw.readings(late_rows(), LANDED + timedelta(days=2))
    summary = run_transform("run-2", cfg=cfg)
    assert summary["files"] == 1
    assert summary["scope"]["meters"] == 1  # only B-E1 was touched (from day 1 on)
    with warehouse(cfg) as con:
        # B-E1's late day 1 rebuilds B's days from 1 March (its March factors and park did not change), and
        # B's balance for March and April (April's opening stock is March's closing stock)
        assert query(con, "select * from intermediate.int_enterprise_rebuild_days") == \
            [(B, date(2026, 3, 1), date(2026, 3, 1))]
        assert query(con, "select * from intermediate.int_enterprise_balance_months order by month") == \
            [(B, date(2026, 3, 1)), (B, date(2026, 4, 1))]
    incremental = snapshot(cfg)
    b_day1 = [r for r in incremental["marts.meter_daily"] if r[0] == "B-E1" and r[5] == date(2026, 3, 1)]
    assert b_day1[0][7:9] == (96, 0)
    # as if the late data had always been there: equal to a from-scratch build with every file
    # (the full_refresh=True path is compared in test_transform_city.py)
    assert incremental == with_late_from_start


def test_restatement_is_explicit_and_recorded(city):
    cfg = city[0]
    with warehouse(cfg) as con:
        assert query(con, "select count(*) from marts.restatements") == [(0,)]
    summary = restate_month("2026-03", "grid factor review", run_id="restate-1", credit_codes=[A], cfg=cfg)
    assert summary["tests_failed"] == 0
    with warehouse(cfg) as con:
        rows = query(con, "select credit_code, month, reason, run_id, old_grid_location_factor, "
                          "new_grid_location_factor from marts.restatements")
        assert rows == [(A, date(2026, 3, 1), "grid factor review", "restate-1", JIANGSU_2023, JIANGSU_2023)]
        assert query(con, f"select applied_reason from marts.factor_applied where credit_code = '{A}'") == \
            [("restatement",)]


def test_warehouse_is_released_after_transform(city):
    """dbt-duckdb keeps a DuckDB instance per process; the transform closes it, so a read-only
    connection with another configuration can open the warehouse right after."""
    import duckdb

    con = duckdb.connect(str(city[0].warehouse_db), read_only=True)
    try:
        assert con.execute("select count(*) from marts.enterprise_carbon_monthly").fetchone()[0] == 3
    finally:
        con.close()
