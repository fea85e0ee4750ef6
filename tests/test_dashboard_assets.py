"""The committed Superset bundle (dashboards/assets) is what dashboards/build_assets.py writes now.

The bundle is generated from the spec (dashboards/spec/), from seeds/warning_levels.csv (the levels' order
and colours) and from dbt's manifest (the datasets' columns and types), so an edited spec, seed or mart
contract without a rebuild would import stale dashboards. No server needed.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from nengtan.config import REPO_ROOT

ASSETS = REPO_ROOT / "dashboards" / "assets"


def _build_assets():
    spec = importlib.util.spec_from_file_location("nengtan_build_assets_check", REPO_ROOT / "dashboards" / "build_assets.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _files(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in sorted(root.rglob("*.yaml"))}


def test_committed_assets_are_built_from_the_spec_and_seed(tmp_path) -> None:
    _build_assets().write(tmp_path / "assets")
    built, committed = _files(tmp_path / "assets"), _files(ASSETS)
    assert sorted(built) == sorted(committed), "run .venv-superset/bin/python dashboards/build_assets.py"
    stale = [name for name in built if built[name] != committed[name]]
    assert not stale, f"stale assets (rebuild with dashboards/build_assets.py): {stale[:5]}"


def test_warning_levels_come_from_the_seed() -> None:
    """Each level of the seed orders the warnings (level_rank) and colours its labels in both languages."""
    module = _build_assets()
    levels = module.warning_levels()
    assert [int(r["rank"]) for r in levels] == sorted(int(r["rank"]) for r in levels)
    sql = module.DATASETS["v_warnings"]["sql"]
    for r in levels:
        assert f"WHEN '{r['warning_level']}' THEN {int(r['rank'])}" in sql
    assert module.label_colors() == {r[k]: r["colour"] for r in levels for k in ("label_zh", "label_en")}
    assert module.NOT_MILDEST == f"warning_level <> '{levels[0]['warning_level']}'"


def test_every_check_rule_has_a_label() -> None:
    """Every rule of expectations/*.py reads as words in both languages on the dashboards (rule_label),
    never as its code: a rule added without a label would show 'ets_cross_check' to the reader. The labels'
    one home is nengtan.report.i18n.RULES: the reports say the same words."""
    import re

    rules = {name for path in sorted((REPO_ROOT / "expectations").glob("*.py"))
             for name in re.findall(r'Rule\(\s*name="([a-z0-9_]+)"', path.read_text(encoding="utf-8"))}
    assert len(rules) >= 20, f"found only {sorted(rules)}: has the Rule(name=...) form changed?"
    labels = _build_assets().LABELS["rule"]
    missing = sorted(rules - set(labels))
    assert not missing, f"rules without a label in nengtan/report/i18n.py RULES: {missing}"
    for rule in rules:
        zh, en = labels[rule]
        assert re.search(r"[\u4e00-\u9fff]", zh) and not re.search(r"[\u4e00-\u9fff]", en), (rule, zh, en)


def test_dbt_exposures_list_the_marts_each_dashboard_reads() -> None:
    """dbt_project/models/marts/_dashboards__exposures.yml declares each dashboard with exactly the marts its
    charts' datasets read (quality.check_results is not a dbt model), so lineage from a mart to the
    dashboards that show it stays true when either side changes."""
    import re

    import yaml

    module = _build_assets()
    exposures = yaml.safe_load((REPO_ROOT / "dbt_project/models/marts/_dashboards__exposures.yml").read_text())
    declared = {e["url"].strip("/").rsplit("/", 1)[-1]: {re.fullmatch(r"ref\('(\w+)'\)", d).group(1)
                                                           for d in e["depends_on"]}
                for e in exposures["exposures"]}
    charts = {c.key: c for c in module.CHARTS}
    for spec in module.DASHBOARDS.values():
        read: set[str] = set()
        for key in spec["charts"]:
            ds = module.DATASETS[charts[key].dataset]
            sql = ds.get("sql")
            read |= set(re.findall(r"marts\.(\w+)", sql)) if sql else {charts[key].dataset}
        assert declared.get(spec["slug"]) == read, f"{spec['slug']}: exposure {declared.get(spec['slug'])} != {read}"


def test_the_database_uri_is_the_serving_copy_unless_configured(tmp_path, monkeypatch) -> None:
    """Superset reads the serving copy (read-only DuckDB) by default; NENGTAN_SERVING_URI switches it to a
    distributed engine (hive:// through the Spark Thrift server) without a code change, and the bundle's
    database carries whichever it is."""
    spec = importlib.util.spec_from_file_location("nengtan_bootstrap_check", REPO_ROOT / "dashboards" / "bootstrap.py")
    bootstrap = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bootstrap)
    monkeypatch.setenv("NENGTAN_DATA", str(tmp_path))
    monkeypatch.delenv("NENGTAN_SERVING_DB", raising=False)
    monkeypatch.delenv("NENGTAN_SERVING_URI", raising=False)
    assert bootstrap.serving_uri() == f"duckdb:///{tmp_path.resolve()}/serving/nengtan.duckdb"
    monkeypatch.setenv("NENGTAN_SERVING_URI", "hive://spark-thrift:10000/marts")
    assert bootstrap.serving_uri() == "hive://spark-thrift:10000/marts"
    database = bootstrap.asset_contents()["databases/nengtan_serving.yaml"]
    assert "sqlalchemy_uri: hive://spark-thrift:10000/marts" in database


def test_datasets_columns_are_the_marts_declared_in_dbt() -> None:
    """A physical dataset lists its mart's columns with the types of the dbt contract (dbt's manifest), in
    the table's order; a virtual dataset's columns carry a mart column's declared type unchanged when they
    pass it through (energy_tce is DECIMAL(38,6) wherever a view selects it as it is)."""
    from nengtan.mart_schema import mart_schema

    module = _build_assets()
    marts = mart_schema()
    for name, spec in module.DATASETS.items():
        if spec.get("sql"):
            continue
        declared = [(c, t.upper()) for c, t in marts[name]["columns"]]
        assert [(c, t) for c, t, _ in spec["columns"]] == declared, name
    city = {c: t for c, t, _ in module.DATASETS["v_city_monthly"]["columns"]}
    declared = dict(marts["city_carbon_monthly"]["columns"])
    assert city["energy_tce"] == declared["energy_tce"].upper() == "DECIMAL(38,6)"


def test_every_mart_has_an_enforced_contract_and_typed_columns() -> None:
    """The mart schema's one home is dbt: every mart's contract is enforced (dbt fails a build whose columns or
    types differ) and every column has a data_type, which the datasets and the sample warehouses are made from."""
    from nengtan.mart_schema import mart_schema

    marts = mart_schema()
    assert len(marts) >= 25
    assert not [name for name, m in marts.items() if not m["contract"]]
    assert not [(name, c) for name, m in marts.items() for c, t in m["columns"] if not t]


def test_sample_warehouses_have_the_declared_mart_schema(tmp_path) -> None:
    """The quality and report samples build their marts from dbt's declared schema: same columns, order and types
    as a dbt build gives (a column renamed in dbt and not in a sample fails here, not in a report)."""
    import duckdb

    from nengtan.mart_schema import mart_schema
    from nengtan.quality.sample import build_sample_warehouse
    from nengtan.report.sample import build_sample_serving

    marts = mart_schema()
    quality = duckdb.connect()
    build_sample_warehouse(quality)
    build_sample_serving(tmp_path / "serving.duckdb")
    # the report sample holds its decimal figures as DOUBLE (nengtan.report.sample.SAMPLE_MARTS)
    serving = duckdb.connect(str(tmp_path / "serving.duckdb"), read_only=True)
    for con, decimal in ((quality, None), (serving, "DOUBLE")):
        tables = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables "
                                            "WHERE table_schema = 'marts' ORDER BY 1").fetchall()]
        assert len(tables) >= 12
        for table in tables:
            built = [(c, t.replace(" ", "")) for c, t, *_ in con.execute(f"DESCRIBE marts.{table}").fetchall()]
            declared = [(c, decimal if decimal and t.startswith("decimal") else t.upper())
                        for c, t in marts[table]["columns"]]
            assert built == declared, table
