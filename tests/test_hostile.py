"""The hostile input corpus (tests/hostile/, outcomes in tests/hostile/expected.yml) through
the real loaders, and (slow) through a full run to fct_quota_exceptions.

Every file must end as a clear error naming file and place, or as rows that the contract
turns into exceptions; never a crash, never a wrong number."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from dagster_project.ingest.config import ConfigError, load_config
from dagster_project.ingest.crm import load_crm
from dagster_project.ingest.files import LandingError
from dagster_project.ingest.messages import load_messages
from dagster_project.ingest.schema import CRM_OBJECTS, create_empty_tables

HOSTILE = Path(__file__).parent / "hostile"
EXPECTED = yaml.safe_load((HOSTILE / "expected.yml").read_text(encoding="utf-8"))
REPO = Path(__file__).resolve().parent.parent

USER = "Id,Name,SystemModstamp\nUSR-0001,Ann,2026-01-01T00:00:00Z\n"
ACCOUNT = "Id,Name,SystemModstamp\nACC-0001,Acme,2026-01-01T00:00:00Z\n"
OPPORTUNITY = (
    "Id,AccountId,OwnerId,Amount,CloseDate,StageName,IsClosed,IsWon,CreatedDate,SystemModstamp\n"
    "o1,ACC-0001,USR-0001,100,2026-02-01,Closed Won,true,true,2026-01-01,2026-02-01\n"
)


def small_landing(root: Path) -> Path:
    for rel, text in (
        ("crm/User/base.csv", USER),
        ("crm/Account/base.csv", ACCOUNT),
        ("crm/Opportunity/base.csv", OPPORTUNITY),
    ):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    (root / "product_usage").mkdir(parents=True, exist_ok=True)
    return root


@pytest.fixture
def conn(tmp_path: Path):
    c = duckdb.connect(str(tmp_path / "wh.duckdb"))
    create_empty_tables(c)
    yield c
    c.close()


def crm_dest(case: dict) -> str:
    return f"crm/{case['object']}/{Path(case['file']).name}"


def msg_dest(case: dict) -> str:
    return f"product_usage/{Path(case['file']).name}"


def fill(texts: list[str], path: str) -> list[str]:
    return [t.replace("{path}", path) for t in texts]


def nonblank_lines(data: bytes) -> list[int]:
    return [n for n, line in enumerate(data.split(b"\n"), start=1) if line.strip()]


@pytest.mark.parametrize("case", EXPECTED["crm"], ids=lambda c: Path(c["file"]).stem)
def test_crm_hostile_file(case, conn, tmp_path):
    landing = small_landing(tmp_path / "landing")
    dest = crm_dest(case)
    shutil.copy(HOSTILE / case["file"], landing / dest)
    table = CRM_OBJECTS[case["object"]][0]

    if "error" in case:
        with pytest.raises(LandingError) as e:
            load_crm(conn, landing)
        assert any(all(t in err for t in fill(case["error"], dest)) for err in e.value.errors), (
            e.value.errors
        )
        # Nothing is written when any file is rejected.
        assert conn.execute("select count(*) from raw.load_manifest").fetchone() == (0,)
        assert conn.execute(f"select count(*) from raw.{table}").fetchone() == (0,)
        return

    load_crm(conn, landing)
    ids = [
        r[0]
        for r in conn.execute(
            f"select id from raw.{table} where _source_file = ? order by _source_line", [dest]
        ).fetchall()
    ]
    assert ids == case["loaded_ids"]
    rejected = [
        r[0]
        for r in conn.execute(
            "select _source_line from raw.rejected_rows where _source_file = ? order by 1", [dest]
        ).fetchall()
    ]
    assert rejected == case.get("rejected_lines", [])
    for rid, columns in (case.get("values") or {}).items():
        for col, text in columns.items():
            got = conn.execute(
                f'select "{col}" from raw.{table} where id = ? and _source_file = ?', [rid, dest]
            ).fetchone()
            assert got == (text,), (rid, col)
    # The base rows are intact (no statement in the data ran).
    for t, n in (("user", 1), ("account", 1), ("opportunity", 1)):
        assert conn.execute(
            f"select count(*) from raw.{t} where _source_file like '%base.csv'"
        ).fetchone() == (n,)
    manifest = conn.execute(
        "select row_count from raw.load_manifest where source_file = ?", [dest]
    ).fetchall()
    assert manifest == [(len(case["loaded_ids"]),)]


@pytest.mark.parametrize("case", EXPECTED["messages"], ids=lambda c: Path(c["file"]).stem)
def test_message_hostile_file(case, conn, tmp_path):
    landing = small_landing(tmp_path / "landing")
    dest = msg_dest(case)
    shutil.copy(HOSTILE / case["file"], landing / dest)

    if "error" in case:
        with pytest.raises(LandingError) as e:
            load_messages(conn, landing)
        assert all(t in str(e.value) for t in fill(case["error"], dest)), str(e.value)
        assert conn.execute("select count(*) from raw.load_manifest").fetchone() == (0,)
        return

    load_messages(conn, landing)
    valid = [
        r[0]
        for r in conn.execute(
            "select message_id from raw.messages where _source_file = ? and _is_valid_json "
            "order by _source_line",
            [dest],
        ).fetchall()
    ]
    assert valid == case.get("valid_ids", [])
    invalid = [
        r[0]
        for r in conn.execute(
            "select _source_line from raw.messages where _source_file = ? and not _is_valid_json "
            "order by _source_line",
            [dest],
        ).fetchall()
    ]
    expected_invalid = case.get("invalid_lines", [])
    if expected_invalid == "all":
        expected_invalid = nonblank_lines((HOSTILE / case["file"]).read_bytes())
        assert expected_invalid  # the binary file has lines at all
    assert invalid == expected_invalid
    assert conn.execute(
        "select count(*) from raw.messages where _raw_line is null and not _is_valid_json"
    ).fetchone() == (0,)  # a bad line keeps its text


@pytest.mark.parametrize("case", EXPECTED["config"], ids=lambda c: c["case"])
def test_config_hostile_case(case, tmp_path):
    cfg = tmp_path / "config"
    shutil.copytree(HOSTILE / "config" / "base", cfg)
    for f in (HOSTILE / "config" / case["case"]).iterdir():
        shutil.copy(f, cfg / f.name)
    if not case["error"]:
        config = load_config(cfg)
        assert [t["team_id"] for t in config.teams][:1] == ["company"]  # BOM not in the name
        return
    with pytest.raises(ConfigError) as e:
        load_config(cfg)
    assert any(all(t in err for t in case["error"]) for err in e.value.errors), e.value.errors


def test_ten_megabyte_field(conn, tmp_path):
    """A 10 MB value (generated here, not committed) arrives whole, in a CSV and in JSONL."""
    landing = small_landing(tmp_path / "landing")
    big = "x" * (10 * 1024 * 1024)
    (landing / "crm/Account/big.csv").write_text(
        f'Id,Name,SystemModstamp\nBIG-1,"{big}",2026-06-01T00:00:00Z\nAFTER-1,After,2026-06-01\n',
        encoding="utf-8",
    )
    (landing / "product_usage/big.jsonl").write_text(
        '{"type":"track","messageId":"big-1","event":"Feature Used","timestamp":'
        f'"2026-06-01T00:00:00Z","properties":{{"feature":"{big}"}}}}\n'
        '{"type":"track","messageId":"after-1","event":"x","timestamp":"2026-06-01"}\n',
        encoding="utf-8",
    )
    load_crm(conn, landing)
    load_messages(conn, landing)
    assert conn.execute(
        "select id, length(name), _source_line from raw.account "
        "where _source_file = 'crm/Account/big.csv' order by 3"
    ).fetchall() == [("BIG-1", len(big), 2), ("AFTER-1", 5, 3)]
    assert conn.execute(
        "select message_id, length(feature), _source_line from raw.messages order by 3"
    ).fetchall() == [("big-1", len(big), 1), ("after-1", None, 2)]


def test_file_names_are_data_not_sql(conn, tmp_path):
    """A landing file whose name is SQL is loaded under that name; no statement runs."""
    landing = small_landing(tmp_path / "landing")
    name = "x'; DROP TABLE raw.opportunity; --\"q.csv"
    shutil.copy(HOSTILE / "crm/opportunity_thousands.csv", landing / "crm/Opportunity" / name)
    msg = "m'); DELETE FROM raw.messages; --.jsonl"
    shutil.copy(HOSTILE / "messages/sql_injection.jsonl", landing / "product_usage" / msg)
    load_crm(conn, landing)
    load_messages(conn, landing)
    assert conn.execute(
        "select _source_file, count(*) from raw.opportunity group by 1 order by 1"
    ).fetchall() == [("crm/Opportunity/base.csv", 1), (f"crm/Opportunity/{name}", 2)]
    assert conn.execute("select _source_file from raw.messages").fetchall() == [
        (f"product_usage/{msg}",)
    ]


# ------------------------------------------------------------------------------------------
# Through dbt: one full run on the sample plus every hostile file that loads.


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_hostile_files_become_exception_rows(sample_company, tmp_path):
    landing_src, config = sample_company
    landing = tmp_path / "landing"
    shutil.copytree(landing_src, landing)
    crm_cases = [c for c in EXPECTED["crm"] if "error" not in c]
    msg_cases = [c for c in EXPECTED["messages"] if "error" not in c]
    for c in crm_cases:
        (landing / crm_dest(c)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(HOSTILE / c["file"], landing / crm_dest(c))
    for c in msg_cases:
        (landing / msg_dest(c)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(HOSTILE / c["file"], landing / msg_dest(c))
    home = tmp_path / "home"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dagster_project.cli",
            "run",
            "--landing",
            str(landing),
            "--config",
            str(config),
            "--home",
            str(home),
            "--as-of",
            "2026-11-20",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=880,
        env={**os.environ},
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    pub = duckdb.connect(str(home / "published" / "quotaboard.duckdb"), read_only=True)
    try:
        rows = pub.execute(
            "select source_id, reason, detail, row_count from marts.fct_quota_exceptions"
        ).fetchall()
        tables = {
            r[0]
            for r in pub.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
        credited = {
            r[0] for r in pub.execute("select source_id from marts.fct_quota_credits").fetchall()
        }
    finally:
        pub.close()
    assert {"fct_quota_exceptions", "fct_quota_attainment", "fct_quota_credits"} <= tables
    for c in crm_cases:
        for ex in c.get("exceptions", []):
            sid = ex["source_id"].replace("{path}", crm_dest(c))
            hits = [r for r in rows if r[0] == sid and r[1] == ex["reason"]]
            assert hits, (c["file"], ex)
            if "detail" in ex:
                assert any(ex["detail"] in (r[2] or "") for r in hits), (c["file"], hits)
            assert sid not in credited  # an invalid row feeds no metric
    for c in msg_cases:
        data = (HOSTILE / c["file"]).read_bytes()
        for ex in c.get("exceptions", []):
            n = len(nonblank_lines(data)) if ex["row_count"] == "all" else ex["row_count"]
            got = [r[3] for r in rows if r[0] == msg_dest(c) and r[1] == ex["reason"]]
            assert got == [n], (c["file"], ex, got)
