"""Bring a Superset metadata DB to Nengtan's desired state; safe to run on every start.

Run with Superset's own interpreter (``.venv-superset/bin/python dashboards/bootstrap.py``)
after ``superset db upgrade`` and ``superset init``, with SUPERSET_CONFIG_PATH pointing at
dashboards/superset_config.py. It:

1. creates or updates the admin from SUPERSET_ADMIN_USER / SUPERSET_ADMIN_PASSWORD;
2. imports dashboards/assets (overwrite), with the serving DuckDB's URI rendered from env;
3. creates roles: ``city_analyst`` (everything), ``park_manager_<park>`` and
   ``enterprise_<credit_code>``, each with row-level security filters, and users for them
   from the registry in the serving DB. Passwords come from NENGTAN_SUPERSET_USERS_PASSWORD
   or from a generated file, $SUPERSET_HOME/nengtan_users.json (mode 600).

SQL Lab stays with Admin: no Nengtan role is given it.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ASSETS = HERE / "assets"
DB_NAME = "nengtan_serving"
URI_PLACEHOLDER = "${NENGTAN_SERVING_URI}"
DEMO_PASSWORD = "nengtan-demo"
CITY_ROLE = "city_analyst"
# build_assets.py's uuid namespace: a dataset whose uuid is uuid5(this, "dataset:<name>") came from a bundle
BUILD_NAMESPACE = uuid.UUID("6f1c3a52-9d0e-4c1e-8a57-0d7b3c2e1a10")
log = logging.getLogger("nengtan.superset.bootstrap")


def _data_dir() -> Path:
    value = os.environ.get("NENGTAN_DATA")
    return Path(value).expanduser().resolve() if value else (HERE.parent / "var" / "data").resolve()


def superset_home() -> Path:
    value = os.environ.get("SUPERSET_HOME")
    return Path(value).expanduser().resolve() if value else _data_dir() / "superset"


def serving_db() -> Path:
    value = os.environ.get("NENGTAN_SERVING_DB")
    return Path(value).expanduser().resolve() if value else _data_dir() / "serving" / "nengtan.duckdb"


def serving_uri() -> str:
    """Where the dashboards read the serving tables: ``NENGTAN_SERVING_URI`` when set (a distributed
    deployment: ``hive://`` through the Spark Thrift server, docs/scale-out.md), else the serving copy.
    The copy is opened read-only, and Superset uses a NullPool: every query opens the file that is
    there now, so a publish (os.replace) never breaks a running dashboard."""
    return os.environ.get("NENGTAN_SERVING_URI", "").strip() or f"duckdb:///{serving_db()}"


def asset_contents() -> dict[str, str]:
    """The bundle as ImportAssetsCommand wants it: relative path -> YAML text, URI rendered."""
    contents: dict[str, str] = {}
    for path in sorted(ASSETS.rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        contents[path.relative_to(ASSETS).as_posix()] = text.replace(URI_PLACEHOLDER, serving_uri())
    if "metadata.yaml" not in contents:
        raise FileNotFoundError(f"{ASSETS}/metadata.yaml missing: run dashboards/build_assets.py")
    return contents


def admin_credentials() -> tuple[str, str]:
    user = os.environ.get("SUPERSET_ADMIN_USER", "admin")
    password = os.environ.get("SUPERSET_ADMIN_PASSWORD", "")
    if not password:
        raise SystemExit("SUPERSET_ADMIN_PASSWORD is not set")
    if password == DEMO_PASSWORD and os.environ.get("NENGTAN_DEMO") != "1":
        raise SystemExit(
            f"SUPERSET_ADMIN_PASSWORD is the public demo password {DEMO_PASSWORD!r}; "
            "set a real one (or NENGTAN_DEMO=1 for a local demo)"
        )
    return user, password


def registry(limit_enterprises: int) -> tuple[list[str], list[tuple[str, str]]]:
    """Parks and the first few enterprises from the serving copy (empty if not published yet)."""
    path = serving_db()
    if not path.exists():
        log.warning("serving DB %s not found: no park/enterprise users created", path)
        return [], []
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'").fetchall()}
        if "dim_parks" in tables:
            parks = [r[0] for r in con.execute("SELECT DISTINCT park_id FROM marts.dim_parks ORDER BY 1").fetchall()]
        else:
            parks = [r[0] for r in con.execute(
                "SELECT DISTINCT park_id FROM marts.park_carbon_monthly ORDER BY 1").fetchall()]
        src = "dim_enterprises" if "dim_enterprises" in tables else "enterprise_carbon_monthly"
        ents = [(r[0], r[1]) for r in con.execute(
            f"SELECT DISTINCT credit_code, park_id FROM marts.{src} ORDER BY 1 LIMIT ?",
            [limit_enterprises]).fetchall()]
    finally:
        con.close()
    return [p for p in parks if p], [e for e in ents if e[0]]


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class Bootstrap:
    """Holds the app context objects; each method is idempotent."""

    def __init__(self) -> None:
        from superset import db, security_manager

        self.db = db
        self.sm = security_manager

    # -- users and roles ---------------------------------------------------------------
    def ensure_user(self, username: str, password: str, roles: list[Any], email: str) -> Any:
        user = self.sm.find_user(username=username)
        if user is None:
            user = self.sm.add_user(username, username, "Nengtan", email, roles, password=password)
            if not user:
                raise RuntimeError(f"could not create Superset user {username}")
        else:
            user.roles = roles
            user.active = True
            self.sm.update_user(user)
            self.sm.reset_password(user.id, password)
        return user

    def ensure_role(self, name: str) -> Any:
        return self.sm.find_role(name) or self.sm.add_role(name)

    def grant_datasets(self, role: Any, datasets: list[Any]) -> None:
        wanted = {self.sm.add_permission_view_menu("datasource_access", ds.get_perm()) for ds in datasets}
        keep = [pv for pv in role.permissions if pv.permission.name != "datasource_access"]
        role.permissions = keep + sorted(wanted, key=lambda pv: pv.view_menu.name)
        self.db.session.merge(role)

    def ensure_rls(self, name: str, role: Any, tables: list[Any], clause: str) -> None:
        from superset.connectors.sqla.models import RowLevelSecurityFilter
        from superset.utils.core import RowLevelSecurityFilterType

        rls = self.db.session.query(RowLevelSecurityFilter).filter_by(name=name).one_or_none()
        if rls is None:
            rls = RowLevelSecurityFilter(name=name)
            self.db.session.add(rls)
        rls.filter_type = RowLevelSecurityFilterType.REGULAR.value
        rls.description = "managed by dashboards/bootstrap.py"
        rls.clause = clause
        rls.group_key = None
        rls.roles = [role]
        rls.tables = tables

    # -- assets -----------------------------------------------------------------------
    def import_assets(self) -> None:
        from superset.commands.importers.v1.assets import ImportAssetsCommand

        ImportAssetsCommand(asset_contents()).run()

    def our_datasets(self) -> list[Any]:
        from superset.connectors.sqla.models import SqlaTable
        from superset.models.core import Database

        database = self.db.session.query(Database).filter_by(database_name=DB_NAME).one()
        return self.db.session.query(SqlaTable).filter_by(database_id=database.id).all()

    def drop_retired_datasets(self, datasets: list[Any]) -> list[Any]:
        """Remove datasets an earlier bundle imported and this one no longer has (a renamed or folded
        virtual dataset), so restricted roles get no grant or RLS on a stale view. Only datasets whose
        uuid is the one build_assets.py gives their name (never one a user made) and that no chart uses."""
        import yaml
        from superset.models.slice import Slice

        current = {yaml.safe_load(p.read_text(encoding="utf-8"))["uuid"]
                   for p in (ASSETS / "datasets").rglob("*.yaml")}
        kept = []
        for ds in datasets:
            ours = str(ds.uuid) == str(uuid.uuid5(BUILD_NAMESPACE, f"dataset:{ds.table_name}"))
            used = self.db.session.query(Slice).filter_by(datasource_id=ds.id, datasource_type="table").count()
            if ours and str(ds.uuid) not in current and not used:
                log.info("dropping retired dataset %s", ds.table_name)
                self.db.session.delete(ds)
            else:
                kept.append(ds)
        return kept

    def sync_columns(self, datasets: list[Any]) -> None:
        """Add columns the marts have but the YAML does not list (marts grow; YAML lags)."""
        if not serving_db().exists():
            return
        for ds in datasets:
            try:
                ds.fetch_metadata()
            except Exception as exc:  # a mart not built yet must not stop the others
                log.warning("dataset %s: could not read columns: %s", ds.table_name, exc)

    # -- the whole thing --------------------------------------------------------------
    def run(self) -> dict[str, str]:
        from superset.models.dashboard import Dashboard
        from superset.utils.core import override_user

        admin_user, admin_password = admin_credentials()
        admin = self.ensure_user(admin_user, admin_password, [self.sm.find_role("Admin")], "admin@nengtan.local")
        self.db.session.commit()

        with override_user(admin):
            self.import_assets()
        self.db.session.commit()

        datasets = self.drop_retired_datasets(self.our_datasets())
        self.db.session.commit()
        self.sync_columns(datasets)
        self.db.session.commit()

        gamma = self.sm.find_role("Gamma")
        passwords = load_passwords()
        created: dict[str, str] = {}

        city = self.ensure_role(CITY_ROLE)
        self.grant_datasets(city, datasets)
        created["analyst"] = passwords.setdefault("analyst", _new_password())
        self.ensure_user("analyst", created["analyst"], [gamma, city], "analyst@nengtan.local")

        def cols(ds: Any) -> set[str]:
            return {c.column_name for c in ds.columns}

        parks, enterprises = registry(int(os.environ.get("NENGTAN_SUPERSET_ENTERPRISE_USERS", "3")))
        restricted: list[tuple[Any, str, str]] = []  # (role, column, value)
        own_park: dict[str, str] = {}  # enterprise role -> its park, whose name it may read
        for park in parks:
            role = self.ensure_role(f"park_manager_{park}")
            restricted.append((role, "park_id", park))
            name = f"park_{park}"
            created[name] = passwords.setdefault(name, _new_password())
            self.ensure_user(name, created[name], [gamma, role], f"{name}@nengtan.local")
        for credit_code, park_of in enterprises:
            role = self.ensure_role(f"enterprise_{credit_code}")
            restricted.append((role, "credit_code", credit_code))
            if park_of:
                own_park[role.name] = park_of
            name = f"ent_{credit_code}"
            created[name] = passwords.setdefault(name, _new_password())
            self.ensure_user(name, created[name], [gamma, role], f"{name}@nengtan.local")

        for role, column, value in restricted:
            with_col = [ds for ds in datasets if column in cols(ds)]
            without = [ds for ds in datasets if column not in cols(ds)]
            self.grant_datasets(role, with_col)
            if role.name in own_park:
                # The enterprise's own park row of dim_parks, so the virtual datasets can show its park's
                # name; dim_parks itself is not granted, and no park aggregate is.
                names = [ds for ds in without if ds.table_name == "dim_parks"]
                without = [ds for ds in without if ds.table_name != "dim_parks"]
                self.ensure_rls(f"nengtan {role.name} own park", role, names,
                                f"park_id = {_sql_literal(own_park[role.name])}")
            # Rows of their own park/enterprise only; tables without that key show nothing,
            # however the user reaches them (dashboard RBAC, a shared link, the API).
            self.ensure_rls(f"nengtan {role.name} {column}", role, with_col,
                            f"{column} = {_sql_literal(value)}")
            self.ensure_rls(f"nengtan {role.name} deny", role, without, "1 = 0")

        # Dashboard RBAC: who sees which dashboard in the list.
        park_roles = [r for r, c, _ in restricted if c == "park_id"]
        ent_roles = [r for r, c, _ in restricted if c == "credit_code"]
        audience = {"city": [city], "park": [city, *park_roles],
                    "enterprise": [city, *park_roles, *ent_roles], "data-quality": [city, *park_roles],
                    # each sees its own rows only (RLS): a park its assessment, enterprises and candidates
                    "dual-control": [city, *park_roles, *ent_roles], "carbon-market": [city, *park_roles, *ent_roles],
                    "projects": [city, *park_roles, *ent_roles]}
        for dash in self.db.session.query(Dashboard).filter(Dashboard.slug.in_(list(audience))).all():
            dash.roles = audience[dash.slug]
            scope_native_filters(dash)
            if admin not in dash.owners:
                dash.owners.append(admin)
        self.db.session.commit()
        save_passwords(passwords)
        return created


def scope_native_filters(dash: Any) -> None:
    """Point each native filter at every chart of its dashboard.

    The import maps chart uuids to ids in the layout but not in ``chartsInScope``, and an
    empty scope means the filter filters nothing.
    """
    meta = json.loads(dash.json_metadata or "{}")
    chart_ids = sorted(s.id for s in dash.slices)
    for native_filter in meta.get("native_filter_configuration", []):
        native_filter["chartsInScope"] = chart_ids
    dash.json_metadata = json.dumps(meta)


def _passwords_file() -> Path:
    return superset_home() / "nengtan_users.json"


def _new_password() -> str:
    shared = os.environ.get("NENGTAN_SUPERSET_USERS_PASSWORD")
    return shared or secrets.token_urlsafe(12)


def load_passwords() -> dict[str, str]:
    path = _passwords_file()
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    shared = os.environ.get("NENGTAN_SUPERSET_USERS_PASSWORD")
    return {k: shared for k in stored} if shared else stored


def save_passwords(passwords: dict[str, str]) -> None:
    path = _passwords_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(passwords, indent=2, sort_keys=True))
    tmp.chmod(0o600)
    os.replace(tmp, path)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    admin_credentials()  # fail fast, before the slow app start
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        created = Bootstrap().run()
    listing = superset_home() / "demo_users.txt"
    tmp = listing.with_suffix(".tmp")
    tmp.write_text("".join(f"{name:32s} {password}\n" for name, password in sorted(created.items())))
    tmp.chmod(0o600)
    os.replace(tmp, listing)
    print(f"nengtan: Superset ready; {len(created)} users, passwords in {listing}")
    if os.environ.get("NENGTAN_DEMO") == "1":
        for name, password in sorted(created.items()):
            print(f"  {name:32s} {password}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
