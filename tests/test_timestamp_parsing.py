"""The shortcut for timestamps in the usual shape (2026-11-21T14:30:00.000Z, as Salesforce and
Segment write them) reads every such text exactly as the general ISO 8601 branches do.

Both the landing audit (``quality.batches.timestamp_sql``) and dbt (``crm_parse_timestamp``,
whose own unit test in base_product_usage__messages.yml covers the same cases on the dbt side)
read the usual shape by a plain cast instead of two regular expressions and a time-zone cast:
the costly part of typing and auditing 20 M messages. The shape is checked digit by digit, so
the test draws every digit freely (month 13, day 30 of February, hour 24, second 60 ...) and
asks DuckDB for both readings, in a session whose own time zone is not UTC.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dagster_project.quality.batches import CANONICAL_UTC_PATTERN, timestamp_sql


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=n, max_size=n)


# Text in the usual shape with any digits, and near misses (blanks, other separators, lower
# case z, fewer fraction digits) that must take the general branches.
CANONICAL = st.builds(
    lambda y, mo, d, h, mi, s, f: f"{y}-{mo}-{d}T{h}:{mi}:{s}.{f}Z",
    _digits(4),
    _digits(2),
    _digits(2),
    _digits(2),
    _digits(2),
    _digits(2),
    _digits(3),
)
NEAR_MISS = st.one_of(
    CANONICAL.map(lambda t: f" {t}"),
    CANONICAL.map(lambda t: f"{t} "),
    CANONICAL.map(lambda t: t.replace("Z", "z")),
    CANONICAL.map(lambda t: t.replace("T", " ")),
    CANONICAL.map(lambda t: t[:-2] + "Z"),
    CANONICAL.map(lambda t: t[:-1] + "+00:00"),
    CANONICAL.map(lambda t: t[:-1] + "-05:00"),
    CANONICAL.map(lambda t: t[:-1]),
)


@pytest.fixture(scope="module")
def conn():
    con = duckdb.connect()
    con.execute("SET TimeZone = 'America/New_York'")
    yield con
    con.close()


def _both_readings(conn, text: str):
    return conn.execute(
        f"select {timestamp_sql('t')}, {timestamp_sql('t', shortcut=False)} from (select ? as t)",
        [text],
    ).fetchone()


@settings(max_examples=400, deadline=None)
@given(text=st.one_of(CANONICAL, NEAR_MISS))
@example(text="2026-11-21T14:30:00.000Z")
@example(text="2026-02-30T10:00:00.000Z")
@example(text="2026-11-01T24:00:00.000Z")
@example(text="2026-11-01T24:00:01.000Z")
@example(text="2026-11-01T23:59:60.000Z")
@example(text="2026-13-01T10:00:00.000Z")
@example(text="0000-01-01T00:00:00.000Z")
@example(text="2024-02-29T00:00:00.000Z")
@example(text="2023-02-29T00:00:00.000Z")
def test_usual_shape_shortcut_reads_as_the_general_iso_8601_rule(conn, text):
    shortcut, general = _both_readings(conn, text)
    assert shortcut == general, text


def test_shortcut_still_reads_valid_text_and_rejects_invalid(conn):
    """Guards the test above against comparing two NULLs only."""
    assert str(_both_readings(conn, "2026-11-21T14:30:00.000Z")[0]) == "2026-11-21 14:30:00"
    assert _both_readings(conn, "2026-02-30T10:00:00.000Z") == (None, None)


def test_dbt_and_the_landing_audit_take_the_same_shortcut():
    """dbt's crm_parse_timestamp holds the same pattern as the audit: a change to one alone
    would let the audit and the metrics disagree on which timestamps parse."""
    macro = (Path(__file__).parents[1] / "dbt" / "macros" / "crm_parsing.sql").read_text()
    assert CANONICAL_UTC_PATTERN.strip("'") in macro
