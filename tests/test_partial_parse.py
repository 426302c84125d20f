"""A new home's first dbt build starts from the project's parse (issue 21, "skip what did not
change"; ``dagster_project/defs/transform/partial_parse.py``).

Rule: the project's parse is copied into a home that has no parse of its own, re-keyed to the
home's profile, only when the home's profile differs in the DuckDB path and settings alone
(neither is read while parsing) and the project's parse carries the checksum dbt computes for
the default profile. dbt must then accept it (a partial parse, not a full one). In every other
case nothing is copied and dbt parses the whole project, as before."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import msgpack
import pytest

from dagster_project.defs.transform.partial_parse import (
    PARTIAL_PARSE_FILE,
    seed_partial_parse,
)
from dagster_project.defs.transform.project import DBT_EXECUTABLE, dbt_project


@pytest.fixture(scope="module")
def project_target() -> Path:
    """The project's own parse (``dbt parse`` when the definitions load)."""
    project = dbt_project()
    target = Path(project.project_dir) / project.target_path
    assert (target / PARTIAL_PARSE_FILE).exists()
    return target


def _home_env(warehouse: Path, memory_limit: str = "1GB") -> dict[str, str]:
    return {
        **os.environ,
        "QUOTABOARD_WAREHOUSE_PATH": str(warehouse),
        "QUOTABOARD_DUCKDB_MEMORY_LIMIT": memory_limit,
    }


def _dbt_parse_events(target: Path, env: dict[str, str]) -> list[dict]:
    """Run ``dbt parse`` into ``target`` under ``env``; its structured log events."""
    project = dbt_project()
    done = subprocess.run(
        [
            DBT_EXECUTABLE, "parse",
            "--profiles-dir", str(project.profiles_dir),
            "--target-path", str(target),
            "--log-path", str(target),
            "--log-format", "json",
            "--log-level", "debug",
        ],
        cwd=project.project_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def test_a_new_homes_first_dbt_parse_is_partial_when_only_path_and_settings_differ(
    project_target, tmp_path
):
    home_target = tmp_path / "home" / "dbt" / "target"
    env = _home_env(tmp_path / "home" / "warehouse" / "quotaboard.duckdb")

    said = seed_partial_parse(project_target, home_target, Path(dbt_project().profiles_dir), env)

    assert "starts from the project's parse" in said
    assert (home_target / PARTIAL_PARSE_FILE).exists()
    events = _dbt_parse_events(home_target, env)
    names = [e["info"]["name"] for e in events]
    refused = [e["info"]["msg"] for e in events if e["info"]["name"] == "UnableToPartialParse"]
    assert refused == [], refused
    assert "PartialParsingEnabled" in names or any(
        "Nothing changed, skipping partial parsing" in e["info"]["msg"] for e in events
    ), names


@pytest.mark.slow  # a full parse, about 13 s
def test_without_the_seed_dbt_parses_the_whole_project_for_a_new_home(project_target, tmp_path):
    """The counterpart: copying the project's parse unchanged is refused by dbt (the profile
    differs), which is why the seed re-keys it."""
    home_target = tmp_path / "home" / "dbt" / "target"
    home_target.mkdir(parents=True)
    (home_target / PARTIAL_PARSE_FILE).write_bytes(
        (project_target / PARTIAL_PARSE_FILE).read_bytes()
    )
    env = _home_env(tmp_path / "home" / "warehouse" / "quotaboard.duckdb")

    events = _dbt_parse_events(home_target, env)

    refused = [e["info"]["msg"] for e in events if e["info"]["name"] == "UnableToPartialParse"]
    assert any("profile has changed" in m for m in refused), refused


def test_no_seed_when_the_home_database_name_differs(project_target, tmp_path):
    """The DuckDB file's name is the ``database`` dbt writes into every parsed node: a home
    whose file has another name must be parsed afresh."""
    home_target = tmp_path / "dbt" / "target"
    env = _home_env(tmp_path / "warehouse" / "elsewhere.duckdb")

    said = seed_partial_parse(project_target, home_target, Path(dbt_project().profiles_dir), env)

    assert "database" in said and "parses the whole project" in said
    assert not (home_target / PARTIAL_PARSE_FILE).exists()


def test_no_seed_when_the_projects_parse_was_made_with_another_profile(project_target, tmp_path):
    """A parse whose recorded profile checksum is not the default profile's (made under another
    profile, or checksummed another way by another dbt) is never re-keyed."""
    other = tmp_path / "project-target"
    other.mkdir()
    parse = msgpack.unpackb(
        (project_target / PARTIAL_PARSE_FILE).read_bytes(), strict_map_key=False
    )
    parse["state_check"]["profile_hash"]["checksum"] = "0" * 64
    (other / PARTIAL_PARSE_FILE).write_bytes(msgpack.packb(parse))
    home_target = tmp_path / "home" / "dbt" / "target"
    env = _home_env(tmp_path / "home" / "warehouse" / "quotaboard.duckdb")

    said = seed_partial_parse(other, home_target, Path(dbt_project().profiles_dir), env)

    assert "another profile" in said
    assert not (home_target / PARTIAL_PARSE_FILE).exists()


def test_a_homes_own_parse_is_kept(project_target, tmp_path):
    home_target = tmp_path / "dbt" / "target"
    home_target.mkdir(parents=True)
    own = home_target / PARTIAL_PARSE_FILE
    own.write_bytes(b"this home's parse")
    env = _home_env(tmp_path / "warehouse" / "quotaboard.duckdb")

    said = seed_partial_parse(project_target, home_target, Path(dbt_project().profiles_dir), env)

    assert "own parse" in said
    assert own.read_bytes() == b"this home's parse"


def test_no_project_file_reads_what_differs_between_homes():
    """The seed is sound only while nothing rendered at parse time reads the profile values
    that differ between homes (the DuckDB path and settings): a model, test or macro that
    renders ``target.path`` or ``target.settings`` must make the seed go (or this rule)."""
    project_dir = Path(dbt_project().project_dir)
    readers = [
        str(path.relative_to(project_dir))
        for folder in ("models", "macros", "tests", "analyses", "snapshots")
        for path in (project_dir / folder).rglob("*")
        if path.suffix in (".sql", ".yml", ".yaml", ".md")
        and re.search(r"target\s*(\.\s*|\[\s*['\"])(path|settings)\b", path.read_text())
    ]
    assert readers == []
