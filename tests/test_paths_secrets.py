"""Paths and secrets.

Only files under the configured landing and config folders are read: a symbolic link that
points outside them is not followed (landing: skipped with a note; config: a clear error).
Credentials and webhook URLs come from the environment and never appear in logs, the Dagster
event log, run metadata or published files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from dagster_project.ingest.config import ConfigError, load_config
from dagster_project.ingest.crm import load_crm
from dagster_project.ingest.messages import load_messages
from dagster_project.ingest.schema import create_empty_tables

HOSTILE = Path(__file__).parent / "hostile"
REPO = Path(__file__).resolve().parent.parent
OPP_HEADER = (
    "Id,AccountId,OwnerId,Amount,CloseDate,StageName,IsClosed,IsWon,CreatedDate,SystemModstamp\n"
)


def opp(i: str) -> str:
    return f"{i},a1,u1,100,2026-02-01,Closed Won,true,true,2026-01-01,2026-02-01\n"


@pytest.fixture
def layout(tmp_path: Path):
    """A landing folder, and a folder outside it holding data that must never be read."""
    landing, outside = tmp_path / "landing", tmp_path / "outside"
    for rel, text in (
        ("crm/User.csv", "Id,Name,SystemModstamp\nu1,Ann,2026-01-01\n"),
        ("crm/Account.csv", "Id,Name,SystemModstamp\na1,Acme,2026-01-01\n"),
        ("crm/Opportunity/base.csv", OPP_HEADER + opp("INSIDE-1")),
        ("inside-elsewhere/Task.csv", "Id,WhatId,OwnerId,ActivityDate,SystemModstamp\n"
         "t1,INSIDE-1,u1,2026-01-05,2026-01-05\n"),
        ("product_usage/a.jsonl",
         '{"type":"track","messageId":"inside-m1","timestamp":"2026-01-01T00:00:00Z"}\n'),
    ):  # fmt: skip
        (landing / rel).parent.mkdir(parents=True, exist_ok=True)
        (landing / rel).write_text(text, encoding="utf-8")
    for rel, text in (
        ("opp.csv", OPP_HEADER + opp("OUTSIDE-1")),
        ("splitdir/s.csv", "Id,OpportunityId,SplitOwnerId,SplitPercentage,SystemModstamp\n"
         "OUTSIDE-S1,INSIDE-1,u1,100,2026-01-01\n"),
        ("m.jsonl", '{"type":"track","messageId":"outside-m1","timestamp":"2026-01-01"}\n'),
        ("msgdir/m.jsonl", '{"type":"track","messageId":"outside-m2","timestamp":"2026-01-01"}\n'),
    ):  # fmt: skip
        (outside / rel).parent.mkdir(parents=True, exist_ok=True)
        (outside / rel).write_text(text, encoding="utf-8")
    # Links out of the landing folder: a file, a whole object folder, a message file and folder.
    (landing / "crm/Opportunity/outside.csv").symlink_to(outside / "opp.csv")
    (landing / "crm/OpportunitySplit").symlink_to(outside / "splitdir", target_is_directory=True)
    (landing / "product_usage/outside.jsonl").symlink_to(outside / "m.jsonl")
    (landing / "product_usage/linked").symlink_to(outside / "msgdir", target_is_directory=True)
    # A link that stays inside the landing folder is an ordinary file.
    (landing / "crm/Task.csv").symlink_to(landing / "inside-elsewhere/Task.csv")
    return landing, outside


@pytest.fixture
def conn(tmp_path: Path):
    c = duckdb.connect(str(tmp_path / "wh.duckdb"))
    create_empty_tables(c)
    yield c
    c.close()


def test_crm_links_out_of_landing_are_not_followed(layout, conn):
    landing, _ = layout
    stats = load_crm(conn, landing)
    assert conn.execute("select id from raw.opportunity order by id").fetchall() == [("INSIDE-1",)]
    assert conn.execute("select count(*) from raw.opportunity_split").fetchone() == (0,)
    assert conn.execute("select id, _source_file from raw.task").fetchall() == [
        ("t1", "inside-elsewhere/Task.csv")
    ]
    notes = [n for st in stats.values() for n in st.notes]
    assert any("crm/Opportunity/outside.csv" in n and "not followed" in n for n in notes), notes
    assert any("crm/OpportunitySplit" in n and "not followed" in n for n in notes), notes
    files = {r[0] for r in conn.execute("select source_file from raw.load_manifest").fetchall()}
    assert not [f for f in files if "outside" in f or f.startswith("..")]


def test_message_links_out_of_landing_are_not_followed(layout, conn):
    landing, _ = layout
    stats = load_messages(conn, landing)
    assert conn.execute("select message_id from raw.messages").fetchall() == [("inside-m1",)]
    assert any("product_usage/outside.jsonl" in n for n in stats.notes), stats.notes


def test_config_link_out_of_config_folder_is_an_error(tmp_path):
    cfg, outside = tmp_path / "config", tmp_path / "outside"
    shutil.copytree(HOSTILE / "config" / "base", cfg)
    outside.mkdir()
    (outside / "people.csv").write_bytes((cfg / "people.csv").read_bytes())
    (cfg / "people.csv").unlink()
    (cfg / "people.csv").symlink_to(outside / "people.csv")
    with pytest.raises(ConfigError) as e:
        load_config(cfg)
    assert any(
        err.startswith("people.csv: a symbolic link to outside the config folder")
        for err in e.value.errors
    ), e.value.errors
    # A link inside the folder is read.
    (cfg / "people.csv").unlink()
    (cfg / "real").mkdir()
    (cfg / "real" / "people.csv").write_bytes((outside / "people.csv").read_bytes())
    (cfg / "people.csv").symlink_to(cfg / "real" / "people.csv")
    assert len(load_config(cfg).people) == 4


# ------------------------------------------------------------------------------------------
# secrets

SECRETS = {
    "SALESFORCE_ENABLED": "false",  # set, but switched off: the secrets below are not used
    "SALESFORCE_USERNAME": "qb-canary-user-7f3a9c",
    "SALESFORCE_PASSWORD": "qb-canary-password-51d0e2",
    "SALESFORCE_SECURITY_TOKEN": "qb-canary-token-a8b4c1",
    "SALESFORCE_CLIENT_ID": "qb-canary-client-id-3e9f77",
    "SALESFORCE_CLIENT_SECRET": "qb-canary-client-secret-0c6d18",
    "QUOTABOARD_ALERT_WEBHOOK_URL": "https://hooks.invalid/services/qb-canary-hook-92be40",
}


def files_containing(root: Path, needles: list[bytes]) -> list[str]:
    hits = []
    for p in root.rglob("*"):
        if p.is_file() and not p.is_symlink():
            data = p.read_bytes()
            hits += [f"{p}: {n.decode()}" for n in needles if n in data]
    return hits


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_secrets_never_reach_logs_event_log_or_published_files(sample_company, tmp_path):
    landing, config = sample_company
    home = tmp_path / "home"
    proc = subprocess.run(
        [sys.executable, "-m", "dagster_project.cli", "run", "--landing", str(landing),
         "--config", str(config), "--home", str(home), "--as-of", "2026-11-20"],
        cwd=REPO, capture_output=True, timeout=880, env={**os.environ, **SECRETS},
    )  # fmt: skip
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    needles = [v.encode() for k, v in SECRETS.items() if k != "SALESFORCE_ENABLED"]
    # Everything the run wrote: logs, the Dagster instance (event log, run storage), dbt's
    # artifacts, the working database, the published DuckDB file, Parquet and reports.
    assert (home / "dagster").is_dir() and (home / "published" / "quotaboard.duckdb").exists()
    assert files_containing(home, needles) == []
    assert [n for n in needles if n in proc.stdout + proc.stderr] == []
    # DuckDB and Parquet compress their strings: search every text value with SQL too.
    texts = [n.decode() for n in needles]
    for db in (home / "published" / "quotaboard.duckdb", home / "warehouse" / "quotaboard.duckdb"):
        conn = duckdb.connect(str(db), read_only=True)
        try:
            assert text_hits(conn, texts) == [], db
        finally:
            conn.close()
    parquet = [p for p in home.rglob("*.parquet") if p.is_file()]
    assert parquet
    conn = duckdb.connect()
    try:
        for p in parquet:
            conn.execute(f"create or replace view pq as select * from read_parquet('{p}')")
            assert text_hits(conn, texts, [("main", "pq")]) == [], p
    finally:
        conn.close()


def text_hits(conn, texts: list[str], relations: list[tuple[str, str]] | None = None) -> list:
    """(relation, column, text) for every text column value that contains one of ``texts``."""
    if relations is None:
        relations = conn.execute(
            "select distinct table_schema, table_name from information_schema.columns "
            "where data_type = 'VARCHAR' and table_catalog = current_database()"
        ).fetchall()
    hits = []
    for schema, table in relations:
        cols = [
            r[0]
            for r in conn.execute(
                "select column_name from information_schema.columns where table_schema = ? "
                "and table_name = ? and data_type = 'VARCHAR'",
                [schema, table],
            ).fetchall()
        ]
        for col in cols:
            for t in texts:
                n = conn.execute(
                    f'select count(*) from "{schema}"."{table}" where contains("{col}", ?)', [t]
                ).fetchone()[0]
                if n:
                    hits.append((f"{schema}.{table}", col, t))
    return hits
