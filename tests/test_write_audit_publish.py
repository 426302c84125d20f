"""Write-audit-publish, case by case (issue 5): feed each kind of bad data to ``quotaboard run``
and assert what happens to the published files.

Blocked cases must leave ``published/`` byte-for-byte as the last good run left it and name
the guard that failed; warning cases must publish, with the exception rows the contract asks
for and a warning naming the guard. Every case runs the real pipeline (loaders, GX, dbt,
Dagster, publish) on a copy of the bundled sample with one thing changed.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from dagster_project import cli

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent

AS_OF = "2026-11-20"  # the last day of the sample's data: fresh
STALE_AS_OF = "2026-11-25"  # 4 days after the newest landing data; the limit is 26 hours


def run_cli(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["run", *args])
    return code, out.getvalue() + err.getvalue()


def published_hashes(home: Path) -> dict[str, str]:
    published = home / "published"
    files = [published / "quotaboard.duckdb", *sorted((published / "parquet").glob("*"))]
    return {
        str(p.relative_to(published)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files
    }


def copy_company(sample_company, dest: Path) -> tuple[Path, Path]:
    landing, config = sample_company
    shutil.copytree(landing, dest / "landing")
    shutil.copytree(config, dest / "config")
    return dest / "landing", dest / "config"


@pytest.fixture(scope="module")
def good_home(sample_company, tmp_path_factory):
    """A home where the sample was published once (the last good run)."""
    home = tmp_path_factory.mktemp("good") / "home"
    landing, config = sample_company
    code, out = run_cli(
        "--landing", str(landing), "--config", str(config), "--home", str(home), "--as-of", AS_OF
    )
    assert code == 0, out
    return home


@pytest.fixture
def home_copy(good_home, tmp_path):
    """A copy of the good home (its published files and Dagster instance) for one case."""
    home = tmp_path / "home"
    shutil.copytree(good_home, home)
    return home


def assert_blocked(code: int, out: str, home: Path, before: dict[str, str]) -> None:
    assert code == 1, out
    assert "nothing was published" in out
    assert "Traceback" not in out
    assert published_hashes(home) == before, "a blocked run changed the published files"


def test_required_column_dropped_blocks_and_names_file_and_column(
    sample_company, home_copy, tmp_path
):
    landing, config = copy_company(sample_company, tmp_path / "company")
    path = landing / "crm" / "Opportunity" / "2026-11-20-delta.csv"
    rows = list(csv.reader(path.open(newline="", encoding="utf-8")))
    drop = rows[0].index("CloseDate")
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([c for i, c in enumerate(r) if i != drop] for r in rows)
    before = published_hashes(home_copy)
    code, out = run_cli(
        "--landing", str(landing), "--config", str(config), "--home", str(home_copy),
        "--as-of", AS_OF,
    )  # fmt: skip
    assert_blocked(code, out, home_copy, before)
    assert "crm/Opportunity/2026-11-20-delta.csv" in out
    assert "required column close_date is missing" in out


def test_negative_conversion_rate_used_by_a_won_deal_blocks(sample_company, home_copy, tmp_path):
    landing, config = copy_company(sample_company, tmp_path / "company")
    path = landing / "crm" / "DatedConversionRate.csv"
    rows = list(csv.DictReader(path.open(newline="", encoding="utf-8")))
    # The EUR rate from 2026-08-01 to 2026-11-01: won EUR deals of the sample close in it.
    (rate,) = [r for r in rows if r["IsoCode"] == "EUR" and r["StartDate"] == "2026-08-01"]
    rate["ConversionRate"] = "-" + rate["ConversionRate"]
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    line = rows.index(rate) + 2
    before = published_hashes(home_copy)
    code, out = run_cli(
        "--landing", str(landing), "--config", str(config), "--home", str(home_copy),
        "--as-of", AS_OF,
    )  # fmt: skip
    assert_blocked(code, out, home_copy, before)
    assert "blocking guard failed: raw/dated_conversion_rate gx_landing" in out
    assert "conversion_rate" in out
    assert f"crm/DatedConversionRate.csv:{line}" in out


def copy_of_the_code(dest: Path) -> Path:
    """The package, the dbt project and the GX suites, copied to ``dest`` (without dbt's
    outputs: the copy parses its own project on its first run)."""
    skip = shutil.ignore_patterns("target", "logs", "dbt_packages", "__pycache__")
    for name in ("dagster_project", "dbt", "expectations"):
        shutil.copytree(REPO / name, dest / name, ignore=skip)
    return dest


def run_cli_from(code: Path, *args: str, timeout: float = 900) -> tuple[int, str]:
    """``quotaboard run`` in a subprocess, from the code under ``code``."""
    env = {k: v for k, v in os.environ.items() if k != "QUOTABOARD_FAULT"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(code), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-m", "dagster_project.cli", "run", *args],
        cwd=code,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return proc.returncode, proc.stdout + proc.stderr


def test_broken_invariant_in_a_mart_blocks_and_names_the_test(sample_company, home_copy, tmp_path):
    """fct_scorecards is made to break weighted_attainment = sum(w * capped) / sum(w): the run
    uses a copy of the code whose scorecard computation (int_scorecards_live, which
    fct_scorecards serves for every open period) adds 0.5 to it, as a faulty edit of the model
    would; no guard is changed. (The production model has no test hook. The data test runs in the
    same ``dbt build`` as the model, while dbt's process holds the working database, so the
    built table cannot be edited in between.)"""
    code = copy_of_the_code(tmp_path / "code")
    model = code / "dbt" / "models" / "intermediate" / "attainment" / "int_scorecards_live.sql"
    sql = model.read_text(encoding="utf-8")
    right = "cast(weighted_attainment as double) as weighted_attainment"
    assert sql.count(right) == 1, f"{model.name} no longer selects {right!r}: update this test"
    wrong = "cast(weighted_attainment + 0.5 as double) as weighted_attainment"
    model.write_text(sql.replace(right, wrong), encoding="utf-8")
    landing, config = sample_company
    before = published_hashes(home_copy)
    exit_code, out = run_cli_from(
        code,
        "--landing", str(landing), "--config", str(config), "--home", str(home_copy),
        "--as-of", AS_OF,
    )  # fmt: skip
    assert_blocked(exit_code, out, home_copy, before)
    assert "assert_weighted_attainment_formula" in out


# -- published with warnings: one run over three kinds of handled problems --------------------
SPLIT90_OPP = "006WAPSPLIT90"
BAD_AMOUNT_OPP = "006WAPBADAMOUNT"


@pytest.fixture(scope="module")
def warned_run(sample_company, good_home, tmp_path_factory):
    """The good home, then a run whose landing adds a won deal with revenue splits of 60 + 30,
    a won deal whose Amount is ``12.5k``, and whose as_of is 4 days after the newest data."""
    base = tmp_path_factory.mktemp("warned")
    home = base / "home"
    shutil.copytree(good_home, home)
    landing, config = copy_company(sample_company, base / "company")
    opp_dir = landing / "crm" / "Opportunity"
    header = next(csv.reader((opp_dir / "2026-11-20-delta.csv").open(encoding="utf-8")))
    owner = "005EAST005"
    account = "001EDGE_LATE_WIN"

    def opp(oid: str, amount: str) -> dict[str, str]:
        return {
            "Id": oid,
            "Name": oid,
            "AccountId": account,
            "OwnerId": owner,
            "Type": "New Business",
            "StageName": "Closed Won",
            "Amount": amount,
            "CurrencyIsoCode": "USD",
            "CloseDate": "2026-11-20",
            "IsClosed": "true",
            "IsWon": "true",
            "CreatedDate": "2026-10-01T10:00:00.000Z",
            "SystemModstamp": "2026-11-20T20:00:00.000Z",
            "IsDeleted": "false",
        }

    with (opp_dir / "2026-11-21-delta.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerow(opp(SPLIT90_OPP, "10000.00"))
        writer.writerow(opp(BAD_AMOUNT_OPP, "12.5k"))
    split_dir = landing / "crm" / "opportunity_split"
    split_header = next(csv.reader((split_dir / "2026-11-20-delta.csv").open(encoding="utf-8")))
    with (split_dir / "2026-11-21-delta.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=split_header)
        writer.writeheader()
        for sid, who, pct in (("149WAPA", owner, "60.00"), ("149WAPB", "005EAST001", "30.00")):
            writer.writerow(
                {
                    "id": sid,
                    "opportunity_id": SPLIT90_OPP,
                    "split_owner_id": who,
                    "split_percentage": pct,
                    "split_type_id": "149TREVENUE",
                    "system_modstamp": "2026-11-20T20:00:00.000Z",
                    "is_deleted": "0",
                }
            )
    before = published_hashes(home)
    code, out = run_cli(
        "--landing", str(landing), "--config", str(config), "--home", str(home),
        "--as-of", STALE_AS_OF,
    )  # fmt: skip
    return {"home": home, "code": code, "out": out, "before": before}


def published_rows(home: Path, sql: str, params: list) -> list[tuple]:
    conn = duckdb.connect(str(home / "published" / "quotaboard.duckdb"), read_only=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_warnings_do_not_block_the_publish(warned_run):
    assert warned_run["code"] == 0, warned_run["out"]
    assert published_hashes(warned_run["home"]) != warned_run["before"]
    as_of = published_rows(
        warned_run["home"], "select max(as_of)::varchar from marts.fct_attainment_history", []
    )
    assert as_of == [(STALE_AS_OF,)]


def test_split_total_of_90_is_published_as_an_exception_with_a_warning(warned_run):
    assert warned_run["code"] == 0, warned_run["out"]
    home = warned_run["home"]
    assert published_rows(
        home,
        "select reason from marts.fct_quota_exceptions where source_id = ?",
        [SPLIT90_OPP],
    ) == [("split_total_not_100",)]
    # the owner keeps 100 % of the amount (owner_fallback); nothing is credited by split
    assert published_rows(
        home,
        "select rule, sum(amount) from marts.fct_quota_credits "
        "where source_id = ? and metric = 'bookings' and assignee_type = 'person' group by 1",
        [SPLIT90_OPP],
    ) == [("owner_fallback", 10000.0)]
    assert "warning:" in warned_run["out"]
    assert "assert_revenue_split_sets_total_100" in warned_run["out"]


def test_unparsable_amount_is_published_as_invalid_value(warned_run):
    assert warned_run["code"] == 0, warned_run["out"]
    rows = published_rows(
        warned_run["home"],
        "select reason, detail from marts.fct_quota_exceptions where source_id = ?",
        [BAD_AMOUNT_OPP],
    )
    assert [r[0] for r in rows] == ["invalid_value"]
    assert "Amount" in rows[0][1] or "amount" in rows[0][1]
    assert "12.5k" in rows[0][1]
    assert "raw/opportunity gx_landing" in warned_run["out"]
    assert "amount__parses" in warned_run["out"]


def test_stale_landing_data_is_published_with_a_freshness_warning(warned_run):
    assert warned_run["code"] == 0, warned_run["out"]
    out = warned_run["out"]
    assert "warning:" in out and "age_hours" in out
