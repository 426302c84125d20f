"""Killed mid-run: ``quotaboard run`` is killed with SIGKILL at each named fault point
(``QUOTABOARD_FAULT``, dagster_project/faults.py) and once at a seeded random moment.

After every kill: the published files are byte-identical to the last good ones (or, for the
random kill, a complete new publish), they open and reconcile; no landing file is marked
loaded in the manifest unless all its rows are in raw; no process of the killed run is left.
The next run completes and publishes the same marts as the uninterrupted run.

The helpers here (published state, marts snapshot, reconciliation) are shared with
tests/test_readers.py and tests/test_determinism.py.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from dagster_project.faults import FAULT_ENV, FAULT_POINTS

REPO = Path(__file__).resolve().parent.parent
AS_OF = "2026-11-20"
RANDOM_KILL_SEED = 20261120
HISTORY = "fct_attainment_history"
# Marts that gain rows with every published run (compared by their own tests).
PER_RUN = {HISTORY, "fct_runs"}
# Columns that describe the run, not the numbers (compared nowhere).
RUN_METADATA_COLUMNS = {"run_id", "published_at", "loaded_at", "_loaded_at", "built_at"}


# ------------------------------------------------------------------------------------------
# helpers


def quotaboard_cmd(
    landing: Path, config: Path, home: Path, extra: tuple[str, ...] = ()
) -> list[str]:
    return [
        sys.executable, "-m", "dagster_project.cli", "run",
        "--landing", str(landing), "--config", str(config), "--home", str(home),
        "--as-of", AS_OF, *extra,
    ]  # fmt: skip


def start_run(
    landing: Path, config: Path, home: Path, extra: tuple[str, ...] = (), **env: str
) -> subprocess.Popen:
    """``quotaboard run`` as its own process group (a kill takes the dbt child with it)."""
    full_env = {k: v for k, v in os.environ.items() if k != FAULT_ENV}
    full_env.update(env)
    log = open(home.parent / f"{home.name}-run-{time.monotonic_ns()}.log", "w")  # noqa: SIM115
    return subprocess.Popen(
        quotaboard_cmd(landing, config, home, extra),
        cwd=REPO,
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def run(
    landing: Path,
    config: Path,
    home: Path,
    timeout: float = 900,
    extra: tuple[str, ...] = (),
    **env: str,
) -> int:
    """``quotaboard run`` to its end; ``extra``: more arguments (``("--rebuild",)`` to run
    every step on inputs the last complete run already built)."""
    proc = start_run(landing, config, home, extra, **env)
    try:
        return proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def last_log(home: Path) -> str:
    logs = sorted(home.parent.glob(f"{home.name}-run-*.log"))
    return logs[-1].read_text(errors="replace")[-4000:] if logs else ""


def group_gone(pgid: int, wait: float = 10.0) -> bool:
    """True when no process of the process group is left (within ``wait`` seconds)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def published_hashes(home: Path) -> dict[str, str]:
    """sha256 of the published DuckDB file and every Parquet file (by path under published/)."""
    pub = home / "published"
    files = [pub / "quotaboard.duckdb", *sorted((pub / "parquet").glob("*.parquet"))]
    return {
        p.relative_to(pub).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in files
        if p.exists()
    }


def stray_published_files(home: Path) -> list[str]:
    """Temp files or journals a publish left where readers look."""
    pub = home / "published"
    hidden = [p for p in pub.iterdir() if p.name.startswith(".")]
    hidden += [p for p in (pub / "parquet").iterdir() if p.name.startswith(".")]
    return sorted(p.name for p in hidden)


def _columns(conn: duckdb.DuckDBPyConnection, rel: str) -> list[str]:
    return [d[0] for d in conn.execute(f"select * from {rel} limit 0").description]


def marts_snapshot(home: Path) -> dict[str, list[tuple]]:
    """Every published mart except the per-run ones (history, fct_runs), as sorted rows
    without run metadata columns."""
    conn = duckdb.connect(str(home / "published" / "quotaboard.duckdb"), read_only=True)
    try:
        models = [
            r[0]
            for r in conn.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' "
                "order by 1"
            ).fetchall()
        ]
        out = {}
        for m in models:
            if m in PER_RUN:
                continue
            cols = [c for c in _columns(conn, f"marts.{m}") if c not in RUN_METADATA_COLUMNS]
            sel = ", ".join(f'"{c}"' for c in cols)
            rows = conn.execute(f"select {sel} from marts.{m}").fetchall()
            out[m] = sorted(rows, key=repr)
        return out
    finally:
        conn.close()


RECONCILE_SQL = """
with latest as (
    select run_id, as_of from {h} order by published_at desc, run_id desc limit 1
),
sums as (
    select a.assignee_type, a.assignee_id, a.fiscal_period, a.metric, a.actual,
           coalesce(sum(c.amount), 0) as credited
    from {a} a
    join {p} p on p.fiscal_period = a.fiscal_period
    cross join latest
    left join {c} c
      on c.assignee_type = a.assignee_type and c.assignee_id = a.assignee_id
     and c.metric = a.metric
     and (c.fiscal_period = a.fiscal_period
          or (c.fiscal_period is null
              and c.credit_date between p.period_start and least(p.period_end, latest.as_of)))
    group by all
),
history_now as (
    select h.* from {h} h join latest using (run_id)
)
select
    (select count(*) from sums
      where abs(actual - credited) > 1e-6 * greatest(abs(credited), 1)) as unreconciled,
    (select count(*) from {a}) as attainment_rows,
    (select count(*) from history_now) as history_rows_of_latest_run,
    (select count(*) from {a} a anti join history_now h
        on h.assignee_type = a.assignee_type and h.assignee_id = a.assignee_id
       and h.fiscal_period = a.fiscal_period and h.metric = a.metric
       and h.actual is not distinct from cast(a.actual as double)) as attainment_not_in_history,
    (select count(distinct run_id) from latest) as run_ids
"""


def reconcile(conn: duckdb.DuckDBPyConnection, relations: dict[str, str]) -> dict[str, int]:
    """One consistent-snapshot check of a published read: every attainment actual equals the
    sum of its credit lines, and the attainment rows are exactly the newest run's history
    rows. ``relations`` maps a (credits, attainment, periods, history) to SQL relations."""
    row = conn.execute(RECONCILE_SQL.format(**relations)).fetchone()
    names = [
        "unreconciled",
        "attainment_rows",
        "history_rows_of_latest_run",
        "attainment_not_in_history",
        "run_ids",
    ]
    return dict(zip(names, row, strict=True))


DB_RELATIONS = {
    "c": "marts.fct_quota_credits",
    "a": "marts.fct_quota_attainment",
    "p": "marts.dim_fiscal_periods",
    "h": f"marts.{HISTORY}",
}


def parquet_relations(parquet_dir: Path) -> dict[str, str]:
    def f(m: str) -> str:
        return "read_parquet('" + str(parquet_dir / f"{m}.parquet").replace("'", "''") + "')"

    return {
        "c": f("fct_quota_credits"),
        "a": f("fct_quota_attainment"),
        "p": f("dim_fiscal_periods"),
        "h": f(HISTORY),
    }


def assert_published_consistent(home: Path) -> None:
    """The published DuckDB file opens read-only and reconciles; each Parquet file holds the
    same rows as its table in the DuckDB file."""
    pub = home / "published"
    conn = duckdb.connect(str(pub / "quotaboard.duckdb"), read_only=True)
    try:
        check = reconcile(conn, DB_RELATIONS)
        assert check["unreconciled"] == 0, check
        assert check["attainment_not_in_history"] == 0, check
        assert check["attainment_rows"] == check["history_rows_of_latest_run"] > 0, check
        models = [
            r[0]
            for r in conn.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        ]
        assert sorted(p.stem for p in (pub / "parquet").glob("*.parquet")) == sorted(models)
        for m in models:
            in_parquet = conn.execute(
                f"select count(*) from (select * from read_parquet(?) except all "
                f"select * from marts.{m})",
                [str(pub / "parquet" / f"{m}.parquet")],
            ).fetchone()[0]
            counts = conn.execute(
                f"select (select count(*) from read_parquet(?)), (select count(*) from marts.{m})",
                [str(pub / "parquet" / f"{m}.parquet")],
            ).fetchone()
            assert in_parquet == 0 and counts[0] == counts[1], (m, in_parquet, counts)
    finally:
        conn.close()


def manifest_problems(home: Path, landing: Path) -> list[str]:
    """Every landing file the manifest marks loaded has all its rows in raw, from that one
    load (row count and load time equal the manifest's); no raw row comes from a file the
    manifest does not list. A manifest entry equal to the file's current size and mtime
    means the file is fully loaded (its rows were counted above)."""
    conn = duckdb.connect(str(home / "warehouse" / "quotaboard.duckdb"), read_only=True)
    problems: list[str] = []
    try:
        manifest = conn.execute(
            "select source_file, target_table, row_count, loaded_at, size_bytes, modified_at "
            "from raw.load_manifest"
        ).fetchall()
        tables = {t for _, t, *_ in manifest} | {"messages", "opportunity", "user", "account"}
        for src, table, n, loaded_at, _size, _mtime in manifest:
            got = conn.execute(
                f'select count(*), count(distinct _loaded_at), max(_loaded_at) from raw."{table}" '
                "where _source_file = ?",
                [src],
            ).fetchone()
            if got[0] != n or (n and (got[1] != 1 or got[2] != loaded_at)):
                problems.append(f"{src}: manifest says {n} rows at {loaded_at}, raw has {got}")
            path = landing / src
            if not path.exists():
                problems.append(f"{src}: in the manifest but not in landing")
        listed = {(s, t) for s, t, *_ in manifest}
        for t in tables:
            for (src,) in conn.execute(f'select distinct _source_file from raw."{t}"').fetchall():
                if (src, t) not in listed:
                    problems.append(f"raw.{t} has rows of {src}, which the manifest does not list")
    finally:
        conn.close()
    return problems


def manifest_current(home: Path, landing: Path) -> dict[str, bool]:
    """Per manifest entry: does it match the landing file's current size and mtime?"""
    conn = duckdb.connect(str(home / "warehouse" / "quotaboard.duckdb"), read_only=True)
    try:
        rows = conn.execute(
            "select source_file, size_bytes, modified_at from raw.load_manifest"
        ).fetchall()
    finally:
        conn.close()
    out = {}
    for src, size, mtime in rows:
        st = (landing / src).stat()
        out[src] = (st.st_size, st.st_mtime) == (size, mtime)
    return out


def touch_all(landing: Path) -> None:
    """New mtimes for every landing file: the next run must reload them all (same content)."""
    t = time.time() + 10
    for p in landing.rglob("*"):
        if p.is_file():
            os.utime(p, (t, t))


# ------------------------------------------------------------------------------------------
# the test


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_killed_runs_leave_published_and_manifest_intact(sample_company, tmp_path):
    landing_src, config = sample_company
    landing = tmp_path / "landing"
    shutil.copytree(landing_src, landing)
    home = tmp_path / "home"
    home.mkdir()

    t0 = time.monotonic()
    assert run(landing, config, home) == 0, last_log(home)
    uninterrupted_seconds = time.monotonic() - t0
    good = published_hashes(home)
    assert "quotaboard.duckdb" in good and len(good) > 5
    reference = marts_snapshot(home)
    assert_published_consistent(home)

    for point in FAULT_POINTS:
        touch_all(landing)  # every file is "changed": the killed run has loading to do
        proc = start_run(landing, config, home, **{FAULT_ENV: point})
        rc = proc.wait(timeout=900)
        assert rc == -signal.SIGKILL, f"{point}: exit {rc}, not killed\n{last_log(home)}"
        assert group_gone(proc.pid), f"{point}: a process of the killed run is still alive"
        assert published_hashes(home) == good, f"{point}: published files changed"
        assert_published_consistent(home)
        assert manifest_problems(home, landing) == [], point
        current = manifest_current(home, landing)
        if point == "crm_load":
            assert not any(v for k, v in current.items() if k.startswith("crm/")), (
                "crm_load: a CRM file is marked loaded although its load was killed"
            )
        if point == "message_load":
            assert not any(v for k, v in current.items() if k.startswith("product_usage/")), (
                "message_load: a message file is marked loaded although its load was killed"
            )

    # A kill at a random moment (seeded), the whole process group, as a crash would.
    delay = random.Random(RANDOM_KILL_SEED).uniform(1.0, uninterrupted_seconds)
    touch_all(landing)
    proc = start_run(landing, config, home)
    time.sleep(delay)
    finished_first = proc.poll() is not None
    if not finished_first:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert group_gone(proc.pid)
    now = published_hashes(home)
    if now != good:  # the kill came after the publish switched: a complete new publish
        assert set(now) == set(good), f"random kill after {delay:.1f}s: files differ"
    assert_published_consistent(home)
    assert manifest_problems(home, landing) == [], f"random kill after {delay:.1f}s"

    # The next run completes and publishes what the uninterrupted run published.
    assert run(landing, config, home) == 0, last_log(home)
    assert stray_published_files(home) == []
    assert_published_consistent(home)
    assert manifest_problems(home, landing) == []
    assert all(manifest_current(home, landing).values())
    assert marts_snapshot(home) == reference
    conn = duckdb.connect(str(home / "published" / "quotaboard.duckdb"), read_only=True)
    try:
        runs = conn.execute(f"select count(distinct run_id) from marts.{HISTORY}").fetchone()[0]
    finally:
        conn.close()
    assert runs in (2, 3)  # the first run, (the random-kill run if it published), the last


# ------------------------------------------------------------------------------------------
# the publish switch, in process (fast): the two renames, the journal, the old parquet folder


def _publish(home: Path, run_id: str, actual: float) -> None:
    from test_publish import build_marts

    from dagster_project.publish import publish_warehouse

    build_marts(home / "warehouse" / "quotaboard.duckdb", actual=actual)
    publish_warehouse(home / "warehouse" / "quotaboard.duckdb", home / "published", run_id)


def _actuals(home: Path) -> tuple[list, list]:
    pub = home / "published"
    conn = duckdb.connect(str(pub / "quotaboard.duckdb"), read_only=True)
    try:
        in_db = conn.execute(
            "select actual::double from marts.fct_quota_attainment where assignee_id = 'p1'"
        ).fetchall()
        in_parquet = conn.execute(
            "select actual::double from read_parquet(?) where assignee_id = 'p1'",
            [str(pub / "parquet" / "fct_quota_attainment.parquet")],
        ).fetchall()
    finally:
        conn.close()
    return in_db, in_parquet


def test_a_kill_between_the_two_renames_is_completed_by_the_next_publish(tmp_path, monkeypatch):
    from dagster_project import publish

    _publish(tmp_path, "run-1", 50.0)
    real_replace = os.replace
    calls = []

    def dies_after_first_rename(src, dst):
        calls.append(Path(dst).name)
        if Path(dst).name == "parquet":  # the DuckDB file is renamed, the link not yet
            raise KeyboardInterrupt("killed between the renames")
        real_replace(src, dst)

    monkeypatch.setattr(publish.os, "replace", dies_after_first_rename)
    with pytest.raises(KeyboardInterrupt):
        _publish(tmp_path, "run-2", 70.0)
    monkeypatch.setattr(publish.os, "replace", real_replace)
    # Mid-switch: the journal says what is left to do.
    assert calls[-2:] == ["quotaboard.duckdb", "parquet"]
    assert (tmp_path / "published" / publish.JOURNAL).exists()
    assert _actuals(tmp_path) == ([(70.0,)], [(50.0,)])

    assert publish.recover_interrupted_publish(tmp_path / "published") is True
    assert _actuals(tmp_path) == ([(70.0,)], [(70.0,)])
    assert stray_published_files(tmp_path) == []


def test_a_publish_killed_before_its_journal_leaves_no_trace(tmp_path, monkeypatch):
    from dagster_project import publish

    _publish(tmp_path, "run-1", 50.0)
    before = published_hashes(tmp_path)

    def killed(*_a, **_k):
        raise KeyboardInterrupt("killed before the switch")

    monkeypatch.setattr(publish, "_write_journal", killed)
    with pytest.raises(KeyboardInterrupt):
        _publish(tmp_path, "run-2", 70.0)
    monkeypatch.undo()
    assert published_hashes(tmp_path) == before
    assert stray_published_files(tmp_path) == []
    versions = publish.parquet_versions_dir(tmp_path / "published")
    assert sorted(p.name for p in versions.iterdir()) == ["run-1"]


def test_plain_parquet_folder_of_an_earlier_release_becomes_the_link(tmp_path):
    pq = tmp_path / "published" / "parquet"
    pq.mkdir(parents=True)
    (pq / "fct_quota_attainment.parquet").write_bytes(b"old")
    (pq / "dropped_model.parquet").write_bytes(b"old")
    _publish(tmp_path, "run-1", 50.0)
    _publish(tmp_path, "run-2", 60.0)
    assert pq.is_symlink()
    assert "dropped_model" not in {p.stem for p in pq.iterdir()}
    assert _actuals(tmp_path) == ([(60.0,)], [(60.0,)])
    # The current and the previous set are kept, nothing older.
    from dagster_project.publish import parquet_versions_dir

    assert sorted(p.name for p in parquet_versions_dir(tmp_path / "published").iterdir()) == [
        "run-1",
        "run-2",
    ]


def test_fault_point_kills_only_when_named():
    code = (
        "from dagster_project.faults import fault_point\n"
        "fault_point('crm_load')\n"
        "print('alive', flush=True)\n"
    )
    for armed, expected_rc, expected_out in (
        ("crm_load", -signal.SIGKILL, ""),
        ("other", 0, "alive"),
    ):
        proc = subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, FAULT_ENV: armed},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (proc.returncode, proc.stdout.strip()) == (expected_rc, expected_out), armed
