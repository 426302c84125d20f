"""Nightly runs keep dbt's partial parse: the next night's run (a new as_of, same project) parses
only what changed, not the whole project; so does a new home's first run, which starts from the
project's parse (tests/test_partial_parse.py).

Rule (issue 21, "skip what did not change"): the run's as_of reaches dbt as the environment
variable QUOTABOARD_AS_OF, read by stg_config__run_context only. A ``--vars`` value that
changes every night would void the partial parse (dbt logs "Unable to do partial parsing
because config vars ... have changed" and parses every model and test again, about 8 s on the
sample). The models read it, and the run id, through the ``run_env_var`` macro, only when
they run: dbt records no value at parse time, so a new as_of or run id re-parses no file at all
(each re-parsed file also re-applies its YAML: 1-2 s on the sample). The run still uses the new
as_of everywhere (the published run record and every as_of-dependent mart)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

FIRST_NIGHT = "2026-11-20"
NEXT_NIGHT = "2026-11-21"


def _run(landing: Path, config: Path, home: Path, as_of: str) -> int:
    from dagster_project.cli import main

    return main(
        [
            "run",
            "--landing", str(landing),
            "--config", str(config),
            "--home", str(home),
            "--as-of", as_of,
        ]
    )  # fmt: skip


def _dbt_build_events(home: Path) -> list[dict]:
    """The events of the last ``dbt build`` in the home's dbt log (JSON lines; dbt rotates it
    into ``dbt.log.1``, ``dbt.log.2`` ..., the highest number oldest)."""
    target = home / "dbt" / "target"
    rotated = sorted(target.glob("dbt.log.*"), key=lambda p: -int(p.suffix[1:]))
    events = [
        json.loads(line)
        for log in [*rotated, target / "dbt.log"]
        for line in log.read_text().splitlines()
        if line.strip()
    ]
    starts = [
        i
        for i, e in enumerate(events)
        if e["info"]["name"] == "MainReportArgs"
        and "build" in e["data"]["args"].get("invocation_command", "")
    ]
    assert starts, "no dbt build in the home's dbt log"
    return events[starts[-1] :]


@pytest.mark.slow
def test_next_nights_run_parses_only_what_changed(sample_company, tmp_path):
    landing, config = sample_company
    home = tmp_path / "home"
    assert _run(landing, config, home, FIRST_NIGHT) == 0
    # The home's first build starts from the project's parse (partial_parse.py), not a full one.
    first = _dbt_build_events(home)
    assert [e["info"]["msg"] for e in first if e["info"]["name"] == "UnableToPartialParse"] == []
    assert "PartialParsingEnabled" in [e["info"]["name"] for e in first]
    assert _run(landing, config, home, NEXT_NIGHT) == 0

    build = _dbt_build_events(home)
    names = [e["info"]["name"] for e in build]
    reasons = [e["info"]["msg"] for e in build if e["info"]["name"] == "UnableToPartialParse"]
    assert reasons == [], reasons
    assert "PartialParsingEnabled" in names, "dbt did not report a partial parse"
    # Rule: a new as_of and run id re-parse nothing (run_env_var reads them only at run time).
    changed = [e["data"] for e in build if e["info"]["name"] == "PartialParsingEnabled"]
    assert changed == [{"added": 0, "changed": 0, "deleted": 0}], changed
    args = next(e for e in build if e["info"]["name"] == "MainReportArgs")["data"]["args"]
    assert "--vars" not in args["invocation_command"]

    published = home / "published" / "quotaboard.duckdb"
    conn = duckdb.connect(str(published), read_only=True)
    try:
        runs = conn.execute("select as_of from marts.fct_runs order by published_at").fetchall()
    finally:
        conn.close()
    assert [str(r[0]) for r in runs][-2:] == [FIRST_NIGHT, NEXT_NIGHT]
    # dbt built with the new as_of (the one row every as_of-dependent model reads).
    conn = duckdb.connect(str(home / "warehouse" / "quotaboard.duckdb"), read_only=True)
    try:
        built = conn.execute("select as_of from staging.stg_config__run_context").fetchall()
    finally:
        conn.close()
    assert [str(r[0]) for r in built] == [NEXT_NIGHT]
