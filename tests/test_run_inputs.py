"""The fingerprint that lets an unchanged run reuse the last build (``dagster_project.run_inputs``):
every input it covers changes it, and the record is only honoured while the published file is
the one that run wrote."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from dagster_project import run_inputs
from dagster_project.resources import REPO_ROOT


@pytest.fixture
def company(tmp_path: Path) -> dict[str, Path]:
    landing = tmp_path / "landing"
    (landing / "crm" / "Opportunity").mkdir(parents=True)
    (landing / "crm" / "Opportunity" / "2026-11-18-full.csv").write_text("Id\n006A\n")
    (landing / "product_usage" / "date=2026-11-18").mkdir(parents=True)
    (landing / "product_usage" / "date=2026-11-18" / "messages.jsonl").write_text("{}\n")
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.yml").write_text("timezone: UTC\n")
    code = tmp_path / "code"
    (code / "dbt" / "models").mkdir(parents=True)
    (code / "dbt" / "models" / "m.sql").write_text("select 1")
    (code / "dbt" / "target").mkdir()
    return {"landing": landing, "config": config, "code": code, "home": tmp_path / "home"}


def fp(c: dict[str, Path], as_of: str = "2026-11-20") -> str:
    return run_inputs.fingerprint(c["landing"], c["config"], as_of, code_root=c["code"])


def test_fingerprint_is_stable(company):
    assert fp(company) == fp(company)


@pytest.mark.parametrize(
    "change",
    [
        "new landing file",
        "landing file rewritten",
        "config edited",
        "as_of",
        "model edited",
    ],
)
def test_every_input_changes_the_fingerprint(company, change):
    before = fp(company)
    as_of = "2026-11-20"
    if change == "new landing file":
        day = company["landing"] / "product_usage" / "date=2026-11-19"
        day.mkdir()
        (day / "messages.jsonl").write_text("{}\n")
    elif change == "landing file rewritten":
        f = company["landing"] / "crm" / "Opportunity" / "2026-11-18-full.csv"
        st = f.stat()
        f.write_text("Id\n006B\n")  # same size: the mtime tells
        os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    elif change == "config edited":
        (company["config"] / "settings.yml").write_text("timezone: Europe/Paris\n")
    elif change == "as_of":
        as_of = "2026-11-21"
    elif change == "model edited":
        (company["code"] / "dbt" / "models" / "m.sql").write_text("select 2")
    assert fp(company, as_of) != before


def test_build_outputs_are_not_inputs(company):
    before = fp(company)
    (company["code"] / "dbt" / "target" / "manifest.json").write_text("{}")
    assert fp(company) == before


def test_the_record_holds_only_while_published_and_working_files_are_unchanged(company, tmp_path):
    published = tmp_path / "published" / "quotaboard.duckdb"
    published.parent.mkdir()
    published.write_bytes(b"run 1")
    working = tmp_path / "warehouse" / "quotaboard.duckdb"
    working.parent.mkdir()
    working.write_bytes(b"built by run 1")
    home = company["home"]

    def reusable(as_of: str = "2026-11-20"):
        return run_inputs.reusable_run(home, published, working, fp(company, as_of))

    run_inputs.remember(home, published, working, "run-1", fp(company))
    assert reusable().run_id == "run-1"
    assert reusable("2026-11-21") is None
    # A publish journal left over (a publish was stopped mid-switch): rebuild.
    (published.parent / ".publish-journal.json").write_text("[]")
    assert reusable() is None
    (published.parent / ".publish-journal.json").unlink()
    assert reusable().run_id == "run-1"
    # The working database was written since (a daemon run whose guards blocked, say): rebuild.
    working.write_bytes(b"built by a blocked run")
    assert reusable() is None
    run_inputs.remember(home, published, working, "run-2", fp(company))
    assert reusable().run_id == "run-2"
    # Another run published in between: rebuild.
    published.write_bytes(b"run 3, longer")
    assert reusable() is None
    # A run that starts forgets the record, so a failed or killed run is never reused.
    run_inputs.remember(home, published, working, "run-3", fp(company))
    run_inputs.forget(home)
    assert reusable() is None


def test_reuse_is_never_taken_for_extracts_flags_or_injected_faults(company, monkeypatch):
    config = company["config"]
    assert run_inputs.reuse_blocked_by(config, False, False) is None
    assert run_inputs.reuse_blocked_by(config, True, False) == "--full-refresh"
    assert run_inputs.reuse_blocked_by(config, False, True) == "--rebuild"
    monkeypatch.setenv("QUOTABOARD_FAULT", "after_dbt")
    assert run_inputs.reuse_blocked_by(config, False, False) == "QUOTABOARD_FAULT"
    monkeypatch.delenv("QUOTABOARD_FAULT")
    (config / "sources.yml").write_text("product_usage:\n  url: s3://bucket/events/\n")
    assert run_inputs.reuse_blocked_by(config, False, False) == (
        "product usage is read from object storage"
    )


def test_the_project_code_is_fingerprinted(tmp_path):
    """The real code roots exist, so an edit to a model or a suite is seen."""
    for name in run_inputs.CODE_DIRS:
        assert (REPO_ROOT / name).is_dir(), name
    code = tmp_path / "code"
    shutil.copytree(REPO_ROOT / "expectations", code / "expectations")
    landing, config = tmp_path / "l", tmp_path / "c"
    landing.mkdir()
    config.mkdir()
    before = run_inputs.fingerprint(landing, config, "2026-11-20", code_root=code)
    suite = next((code / "expectations").rglob("*.json"))
    suite.write_text(suite.read_text() + " ")
    assert run_inputs.fingerprint(landing, config, "2026-11-20", code_root=code) != before
