"""Apache Superset on the published DuckDB file, end to end (docs/bi.md, "Apache Superset").

What an analyst following docs/bi.md gets, proven with the pins of
``tests/superset/requirements.txt`` and ``tests/superset/constraints.txt``:

* Superset 6 installs in a virtual environment of its own (uv). It cannot live in the project's
  environment: Superset pins SQLAlchemy 1.4, and the project's SQLAlchemy 2.1 with
  duckdb-engine 0.17 cannot even reflect a table (``pg_catalog.pg_collation`` not found).
* ``superset db upgrade``, ``superset fab create-admin``, ``superset init`` on a fresh home, then
  the real HTTP server (``superset run``).
* Through Superset's REST API, as the UI does: the published file of a real nightly run
  (``published_home``) registers as a database with the engine parameters
  ``{"connect_args": {"read_only": true}}``. Its connection test passes while this process holds
  a read-only DuckDB connection on the file, and fails without ``read_only`` (a read-write
  connection would lock every other reader out). Datasets for ``marts.mart_team_board`` and
  ``marts.fct_quota_attainment`` reflect exactly the columns the project's DuckDB lists, dates
  as temporal and numbers as numeric. Chart data queries (sums, maxima and counts by team for
  one fiscal period, a whole-table count) return the numbers the same SQL returns from DuckDB.

The Superset venv is built once per machine under ``data/.superset-venv/<hash of the pins>``
(a pin change builds a new one and removes the old). The test skips only when that venv is not
built yet and the package index cannot be reached; any other failure fails. Timings are printed
(``pytest -s``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pytest
import requests
from filelock import FileLock
from test_bi import published_home  # noqa: F401  (session fixture: one real run)

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parent.parent
PINS = REPO_ROOT / "tests" / "superset"
REQUIREMENTS = PINS / "requirements.txt"
CONSTRAINTS = PINS / "constraints.txt"
VENV_ROOT = REPO_ROOT / "data" / ".superset-venv"  # data/ is git-ignored
ADMIN_USER, ADMIN_PASSWORD = "admin", "quotaboard-test-admin"
ENGINE_PARAMS = {"connect_args": {"read_only": True}}
TEAM_BOARD, ATTAINMENT = "mart_team_board", "fct_quota_attainment"

TIMINGS: dict[str, float] = {}


# --------------------------------------------------------------------------------------------
# the Superset venv (cached per machine, keyed by the pins)


def _uv() -> list[str]:
    """uv as the Makefile finds it: on PATH, else a Python's uv module."""
    found = shutil.which("uv")
    if found:
        return [found]
    if importlib.util.find_spec("uv") is not None:
        return [sys.executable, "-m", "uv"]
    python3 = shutil.which("python3")
    if (
        python3
        and subprocess.run([python3, "-m", "uv", "--version"], capture_output=True).returncode == 0
    ):
        return [python3, "-m", "uv"]
    pytest.fail("uv not found (on PATH or as `python3 -m uv`): `make install` installs it")


def _index_reachable() -> bool:
    index = (
        os.environ.get("UV_DEFAULT_INDEX")
        or os.environ.get("UV_INDEX_URL")
        or os.environ.get("PIP_INDEX_URL")
        or "https://pypi.org/simple/"
    )
    try:
        urllib.request.urlopen(index.rstrip("/") + "/apache-superset/", timeout=20).close()
    except urllib.error.HTTPError:
        return True  # it answered: an install failure is then a real failure
    except (OSError, ValueError):
        return False
    return True


def _run(cmd: list, log: Path, *, env: dict | None = None, timeout: float = 900) -> None:
    with log.open("a") as out:
        out.write(f"$ {' '.join(map(str, cmd))}\n")
        out.flush()
        proc = subprocess.run(
            [str(c) for c in cmd], stdout=out, stderr=subprocess.STDOUT, env=env, timeout=timeout
        )
    if proc.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-40:])
        pytest.fail(f"{' '.join(map(str, cmd[:4]))} ... exited {proc.returncode}:\n{tail}")


def _superset_venv() -> Path:
    digest = hashlib.sha256()
    for part in (REQUIREMENTS.read_bytes(), CONSTRAINTS.read_bytes(), sys.version.encode()):
        digest.update(part)
    key = digest.hexdigest()[:12]
    venv = VENV_ROOT / key
    VENV_ROOT.mkdir(parents=True, exist_ok=True)
    with FileLock(str(VENV_ROOT / f"{key}.lock"), timeout=1800):
        if (venv / ".installed").exists():
            return venv
        if not _index_reachable():
            pytest.skip(
                "the Superset venv is not built and the package index (PyPI) is unreachable"
            )
        for old in VENV_ROOT.iterdir():  # venvs of earlier pins
            if old.is_dir() and old.name != key:
                shutil.rmtree(old, ignore_errors=True)
        log = VENV_ROOT / f"{key}.install.log"
        log.unlink(missing_ok=True)
        start = time.monotonic()
        uv = _uv()
        _run([*uv, "venv", "--clear", "--python", sys.executable, venv], log)
        _run(
            [*uv, "pip", "install", "--python", venv / "bin" / "python"]
            + ["-r", REQUIREMENTS, "-c", CONSTRAINTS],
            log,
        )
        TIMINGS["venv install (uv)"] = time.monotonic() - start
        (venv / ".installed").write_text(REQUIREMENTS.read_text())
    return venv


# --------------------------------------------------------------------------------------------
# a fresh Superset home, the server, an API session


def _superset_env(venv: Path, home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env |= {
        "VIRTUAL_ENV": str(venv),
        "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        "SUPERSET_HOME": str(home),
        "SUPERSET_CONFIG_PATH": str(home / "superset_config.py"),
    }
    return env


def _init_superset(venv: Path, home: Path) -> None:
    """What docs/bi.md tells the analyst to run, on a fresh home (metadata in SQLite)."""
    (home / "superset_config.py").write_text(
        f"SECRET_KEY = {os.urandom(32).hex()!r}\n"
        f"SQLALCHEMY_DATABASE_URI = 'sqlite:///{home / 'superset.db'}?check_same_thread=false'\n"
        "# the default; duckdb is not on its blocklist (sqlite and shillelagh are)\n"
        "PREVENT_UNSAFE_DB_CONNECTIONS = True\n"
        "FEATURE_FLAGS = {}\n"
    )
    env, superset, log = _superset_env(venv, home), venv / "bin" / "superset", home / "init.log"
    admin = ["--username", ADMIN_USER, "--password", ADMIN_PASSWORD, "--firstname", "Ada"]
    admin += ["--lastname", "Analyst", "--email", "ada@example.com"]
    for step in (["db", "upgrade"], ["fab", "create-admin", *admin], ["init"]):
        start = time.monotonic()
        _run([superset, *step], log, env=env)
        TIMINGS[f"superset {' '.join(step[:2])}"] = time.monotonic() - start


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def superset(request, tmp_path_factory):
    """(base URL, published file) with ``superset run`` serving a fresh home. The Superset home
    is initialised while the nightly run of ``published_home`` builds the published file."""
    venv = _superset_venv()
    home = tmp_path_factory.mktemp("superset-home")
    with ThreadPoolExecutor(1) as pool:
        init = pool.submit(_init_superset, venv, home)
        start = time.monotonic()
        published = request.getfixturevalue("published_home") / "published" / "quotaboard.duckdb"
        TIMINGS["published file (quotaboard run, in parallel with init)"] = time.monotonic() - start
        init.result()

    port = _free_port()
    log = home / "server.log"
    start = time.monotonic()
    with log.open("w") as out:
        server = subprocess.Popen(
            [venv / "bin" / "superset", "run", "-h", "127.0.0.1", "-p", str(port)]
            + ["--with-threads", "--no-reload", "--no-debugger"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=_superset_env(venv, home),
            start_new_session=True,  # pytest's Ctrl-C is not the server's
        )
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            if server.poll() is not None:
                pytest.fail(f"superset run exited {server.returncode}:\n{log.read_text()[-4000:]}")
            try:
                if requests.get(f"{base}/health", timeout=5).text == "OK":
                    break
            except requests.RequestException:
                pass  # not listening yet
            if time.monotonic() - start > 240:
                pytest.fail(f"superset run not healthy after 240 s:\n{log.read_text()[-4000:]}")
            time.sleep(0.5)
        TIMINGS["superset run until /health"] = time.monotonic() - start
        yield base, published
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)
        print("\nSuperset timings (s):")
        for step, seconds in TIMINGS.items():
            print(f"  {step:<60} {seconds:7.1f}")


def _check(response: requests.Response, status: int = 200) -> dict:
    assert response.status_code == status, (
        f"{response.request.method} {response.url}: {response.status_code} {response.text[:2000]}"
    )
    return response.json()


@pytest.fixture(scope="module")
def api(superset):
    """A logged-in API session (JWT + CSRF token), the database and the two datasets registered
    through the REST API as the UI registers them."""
    base, published = superset
    session = requests.Session()
    start = time.monotonic()
    token = _check(
        session.post(
            f"{base}/api/v1/security/login",
            json={"username": ADMIN_USER, "password": ADMIN_PASSWORD, "provider": "db"},
        )
    )["access_token"]
    session.headers["Authorization"] = f"Bearer {token}"
    csrf = _check(session.get(f"{base}/api/v1/security/csrf_token/"))["result"]
    session.headers.update({"X-CSRFToken": csrf, "Referer": base})

    database = {
        "database_name": "quotaboard",
        "sqlalchemy_uri": f"duckdb:///{published}",  # an absolute path: four slashes
        "extra": json.dumps({"engine_params": ENGINE_PARAMS}),
    }
    _check(session.post(f"{base}/api/v1/database/test_connection/", json=database))
    database_id = _check(
        session.post(f"{base}/api/v1/database/", json={**database, "expose_in_sqllab": True}),
        201,
    )["id"]
    datasets = {
        table: _check(
            session.post(
                f"{base}/api/v1/dataset/",
                json={"database": database_id, "schema": "marts", "table_name": table},
            ),
            201,
        )["id"]
        for table in (TEAM_BOARD, ATTAINMENT)
    }
    TIMINGS["login, register database, two datasets (REST API)"] = time.monotonic() - start
    return base, published, session, database, database_id, datasets


# --------------------------------------------------------------------------------------------
# the tests


def test_database_is_registered_read_only(api, tmp_path):
    base, published, session, database, database_id, _ = api
    stored = _check(session.get(f"{base}/api/v1/database/{database_id}/connection"))["result"]
    assert stored["sqlalchemy_uri"] == f"duckdb:///{published}"
    assert json.loads(stored["extra"])["engine_params"] == ENGINE_PARAMS
    assert (stored["backend"], stored["allow_dml"]) == ("duckdb", False)

    # While an analyst's read-only connection is open, Superset's read-only connection opens
    # too; a read-write one (no engine parameters) needs the file's exclusive lock and fails,
    # though the same connection opens a copy of the file that nobody holds.
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(published, copy)
    read_write = {**database, "extra": "{}", "database_name": "quotaboard-read-write"}
    test_connection = f"{base}/api/v1/database/test_connection/"
    with duckdb.connect(str(published), read_only=True):
        _check(session.post(test_connection, json=database))
        refused = session.post(test_connection, json=read_write)
        assert refused.status_code == 400, refused.text
        assert "Could not set lock" in refused.text, refused.text
        _check(
            session.post(
                test_connection, json={**read_write, "sqlalchemy_uri": f"duckdb:///{copy}"}
            )
        )


def _duckdb_columns(published: Path, table: str) -> list[tuple[str, str]]:
    with duckdb.connect(str(published), read_only=True) as con:
        return con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' and table_name = ? order by ordinal_position",
            [table],
        ).fetchall()


# GenericDataType of superset.utils.core
NUMERIC, STRING, TEMPORAL, BOOLEAN = 0, 1, 2, 3
KEY_COLUMNS = {
    TEAM_BOARD: {"team_name", "fiscal_period", "weighted_attainment", "quota_carriers"},
    ATTAINMENT: {"assignee_type", "assignee_name", "fiscal_period", "metric", "target", "actual"},
}


@pytest.mark.parametrize("table", [TEAM_BOARD, ATTAINMENT])
def test_datasets_reflect_the_marts_columns(api, table):
    base, published, session, _, _, datasets = api
    result = _check(session.get(f"{base}/api/v1/dataset/{datasets[table]}"))["result"]
    assert (result["schema"], result["table_name"]) == ("marts", table)
    reflected = {c["column_name"]: c for c in result["columns"]}
    expected = _duckdb_columns(published, table)

    assert KEY_COLUMNS[table] <= reflected.keys()
    assert sorted(reflected) == sorted(name for name, _ in expected)
    for name, data_type in expected:
        column = reflected[name]
        if data_type in ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE"):
            assert column["is_dttm"] and column["type_generic"] == TEMPORAL, column
        elif data_type in ("DOUBLE", "FLOAT", "INTEGER", "BIGINT", "HUGEINT") or (
            data_type.startswith("DECIMAL")
        ):
            assert column["type_generic"] == NUMERIC, column
        elif data_type == "BOOLEAN":
            assert column["type_generic"] == BOOLEAN, column
        elif data_type == "VARCHAR":
            assert column["type_generic"] == STRING, column


def _chart_data(session: requests.Session, base: str, dataset_id: int, queries: list) -> list:
    """The results of ``queries`` on a dataset, as a chart asks for them (cache bypassed)."""
    body = {
        "datasource": {"id": dataset_id, "type": "table"},
        "force": True,
        "result_format": "json",
        "result_type": "full",
        "queries": queries,
    }
    return _check(session.post(f"{base}/api/v1/chart/data", json=body))["result"]


def _metric(aggregate: str, column: str) -> dict:
    return {
        "expressionType": "SIMPLE",
        "aggregate": aggregate,
        "column": {"column_name": column},
        "label": f"{aggregate.lower()}_{column}",
    }


def _same(superset_rows: list[dict], duckdb_rows: list[tuple], columns: list[str]) -> None:
    assert len(superset_rows) == len(duckdb_rows) > 0
    for got, want in zip(superset_rows, duckdb_rows, strict=True):
        for column, value in zip(columns, want, strict=True):
            if isinstance(value, str) or value is None:
                assert got[column] == value, (column, got, want)
            else:
                assert math.isclose(got[column], float(value), rel_tol=1e-9), (column, got, want)


def test_chart_data_equals_duckdb_on_the_published_file(api):
    base, published, session, _, _, datasets = api
    with duckdb.connect(str(published), read_only=True) as con:
        # the fiscal period with the most team plan rows (a quarter of the sample's year)
        period = con.execute(
            "select fiscal_period from marts.fct_quota_attainment where assignee_type = 'team' "
            "group by 1 order by count(*) desc, 1 desc limit 1"
        ).fetchone()[0]
        want_attainment = con.execute(
            "select assignee_name, metric, sum(target), sum(actual), count(*) "
            "from marts.fct_quota_attainment "
            "where fiscal_period = ? and assignee_type = 'team' group by all order by all",
            [period],
        ).fetchall()
        want_rows = con.execute("select count(*) from marts.fct_quota_attainment").fetchone()
        want_board = con.execute(
            "select team_name, max(weighted_attainment), sum(quota_carriers) "
            "from marts.mart_team_board where fiscal_period = ? group by all order by all",
            [period],
        ).fetchall()

    period_filter = {"col": "fiscal_period", "op": "==", "val": period}
    start = time.monotonic()
    attainment = _chart_data(
        session,
        base,
        datasets[ATTAINMENT],
        [
            {
                "columns": ["assignee_name", "metric"],
                "metrics": [_metric("SUM", "target"), _metric("SUM", "actual"), "count"],
                "filters": [period_filter, {"col": "assignee_type", "op": "==", "val": "team"}],
                "orderby": [["assignee_name", True], ["metric", True]],
                "row_limit": 10000,
            },
            {"columns": [], "metrics": ["count"], "row_limit": 1},
        ],
    )
    board = _chart_data(
        session,
        base,
        datasets[TEAM_BOARD],
        [
            {
                "columns": ["team_name"],
                "metrics": [
                    _metric("MAX", "weighted_attainment"),
                    _metric("SUM", "quota_carriers"),
                ],
                "filters": [period_filter],
                "orderby": [["team_name", True]],
                "row_limit": 10000,
            }
        ],
    )
    TIMINGS["three chart data queries (REST API)"] = time.monotonic() - start

    assert all(q["status"] == "success" for q in attainment + board), attainment + board
    assert "marts.fct_quota_attainment" in attainment[0]["query"]
    _same(
        attainment[0]["data"],
        want_attainment,
        ["assignee_name", "metric", "sum_target", "sum_actual", "count"],
    )
    _same(attainment[1]["data"], [want_rows], ["count"])
    _same(
        board[0]["data"], want_board, ["team_name", "max_weighted_attainment", "sum_quota_carriers"]
    )
