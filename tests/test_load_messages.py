"""Product-usage messages into raw.messages (dagster_project.ingest.messages)."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import duckdb
import pytest

from dagster_project.ingest.messages import load_messages
from dagster_project.ingest.schema import create_empty_tables

TRACK = {
    "messageId": "m1",
    "type": "track",
    "timestamp": "2026-03-01T10:00:00Z",
    "userId": "usr1",
    "anonymousId": "anon1",
    "event": "Feature Used",
    "properties": {"feature": "reports"},
    "context": {"groupId": "w1"},
}
GROUP = {
    "messageId": "m2",
    "type": "group",
    "timestamp": "2026-03-01T09:00:00Z",
    "userId": "usr1",
    "groupId": "w1",
    "traits": {"crm_account_id": "a1"},
}


@pytest.fixture
def conn(tmp_path: Path):
    c = duckdb.connect(str(tmp_path / "wh.duckdb"))
    create_empty_tables(c)
    yield c
    c.close()


def write_lines(path: Path, lines: list[str], gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def fields(conn, where: str = "true"):
    return conn.execute(
        "select message_id, type, timestamp, user_id, anonymous_id, event, feature, "
        "context_group_id, group_id, crm_account_id, _is_valid_json, _raw_line, "
        f"_source_file, _source_line from raw.messages where {where} "
        "order by _source_file, _source_line"
    ).fetchall()


def test_jsonl_fields_invalid_lines_and_line_numbers(conn, tmp_path):
    landing = tmp_path / "landing"
    write_lines(
        landing / "product_usage" / "2026" / "03" / "a.jsonl",
        [
            json.dumps(TRACK),  # 1
            "",  # 2: blank, skipped
            "{not json",  # 3
            json.dumps(GROUP),  # 4
            "42",  # 5: valid JSON, not a message object
            '{"messageId": "m3", "type": "track", "userId": 7}',  # 6
        ],
    )
    stats = load_messages(conn, landing)
    assert stats.files_loaded == 1
    assert stats.rows_loaded == 5
    assert stats.rows_rejected == 2
    got = fields(conn)
    f = "product_usage/2026/03/a.jsonl"
    assert got == [
        (
            "m1",
            "track",
            "2026-03-01T10:00:00Z",
            "usr1",
            "anon1",
            "Feature Used",
            "reports",
            "w1",
            None,
            None,
            True,
            None,
            f,
            1,
        ),
        (None,) * 10 + (False, "{not json", f, 3),
        ("m2", "group", "2026-03-01T09:00:00Z", "usr1", None, None, None, None, "w1", "a1")
        + (True, None, f, 4),
        (None,) * 10 + (False, "42", f, 5),
        ("m3", "track", None, "7", None, None, None, None, None, None, True, None, f, 6),
    ]


def test_lines_not_starting_with_a_brace_are_trimmed_before_they_are_judged(conn, tmp_path, caplog):
    """Rule: a line of spaces is blank (skipped, its number kept) and a JSON object after
    leading spaces or tabs is a message; the loader trims only the lines that do not start
    with '{', so both must come out as if every line were trimmed."""
    landing = tmp_path / "landing"
    write_lines(
        landing / "product_usage" / "d.jsonl",
        [
            "   ",  # 1: spaces only, skipped
            "  \t" + json.dumps(TRACK),  # 2: indented object, a message
            json.dumps(GROUP),  # 3
            " 42",  # 4: indented, valid JSON, not an object
        ],
    )
    stats = load_messages(conn, landing)
    got = [(r[0], r[10], r[11], r[13]) for r in fields(conn)]
    assert got == [("m1", True, None, 2), ("m2", True, None, 3), (None, False, " 42", 4)]
    assert stats.rows_loaded == 3
    assert "read line by line" not in caplog.text  # DuckDB's reader, not the fallback


def test_gzip_and_unreadable_lines(conn, tmp_path):
    landing = tmp_path / "landing"
    write_lines(
        landing / "product_usage" / "b.jsonl.gz", [json.dumps(GROUP), json.dumps(TRACK)], gz=True
    )
    bad = landing / "product_usage" / "c.jsonl"
    bad.write_bytes(
        json.dumps(TRACK).encode()
        + b"\n"
        + b'{"x": "\xff\xfe"}\n'
        + b"a\x01b\n"
        + b'{"messageId": "m9"}\n'
    )
    load_messages(conn, landing)
    assert [(r[0], r[13]) for r in fields(conn, "_source_file like '%b.jsonl.gz'")] == [
        ("m2", 1),
        ("m1", 2),
    ]
    got = [(r[0], r[10], r[13]) for r in fields(conn, "_source_file like '%c.jsonl'")]
    assert got == [("m1", True, 1), (None, False, 2), (None, False, 3), ("m9", True, 4)]


def test_parquet_nested_and_flattened(conn, tmp_path):
    landing = tmp_path / "landing"
    pu = landing / "product_usage"
    pu.mkdir(parents=True)
    c = duckdb.connect()
    c.execute(
        f"""copy (select * from (values
            ('p1', 'track', timestamptz '2026-03-01 10:00:00+00', 'usr1', 'Feature Used',
             {{'feature': 'reports'}}, {{'groupId': 'w1'}}),
            ('p2', 'track', timestamptz '2026-03-02 10:00:00+00', 'usr2', 'App Installed',
             {{'feature': NULL}}, {{'groupId': NULL}})
        ) t(messageId, type, timestamp, userId, event, properties, context))
        to '{pu / "nested.parquet"}'"""
    )
    (pu / "flat").mkdir()
    c.execute(
        f"""copy (select 'p3' as message_id, 'group' as TYPE, '2026-03-01T08:00:00Z' as timestamp,
            'usr1' as user_id, 'w1' as group_id, 'a1' as traits_crm_account_id,
            'x' as context_group_id, 'f' as Properties_Feature)
        to '{pu / "flat" / "f.parquet"}'"""
    )
    c.close()
    stats = load_messages(conn, landing)
    assert stats.files_loaded == 2
    got = fields(conn)
    assert [(r[0], r[1], r[2], r[3], r[6], r[7], r[8], r[9], r[10], r[12], r[13]) for r in got] == [
        (
            "p3",
            "group",
            "2026-03-01T08:00:00Z",
            "usr1",
            "f",
            "x",
            "w1",
            "a1",
            True,
            "product_usage/flat/f.parquet",
            1,
        ),
        (
            "p1",
            "track",
            "2026-03-01T10:00:00.000000Z",
            "usr1",
            "reports",
            "w1",
            None,
            None,
            True,
            "product_usage/nested.parquet",
            1,
        ),
        (
            "p2",
            "track",
            "2026-03-02T10:00:00.000000Z",
            "usr2",
            None,
            None,
            None,
            None,
            True,
            "product_usage/nested.parquet",
            2,
        ),
    ]


def test_incremental(conn, tmp_path):
    landing = tmp_path / "landing"
    a = write_lines(landing / "product_usage" / "a.jsonl", [json.dumps(TRACK)])
    assert load_messages(conn, landing).files_loaded == 1
    before = conn.execute("select * from raw.messages").fetchall()
    again = load_messages(conn, landing)
    assert (again.files_loaded, again.files_skipped) == (0, 1)
    assert conn.execute("select * from raw.messages").fetchall() == before

    write_lines(landing / "product_usage" / "b.jsonl", [json.dumps(GROUP)])
    st = load_messages(conn, landing)
    assert (st.files_loaded, st.files_skipped, st.rows_loaded) == (1, 1, 1)

    write_lines(a, [json.dumps(GROUP), json.dumps(TRACK), json.dumps(TRACK)])
    os.utime(a, (5, 5))
    st = load_messages(conn, landing)
    assert st.files_loaded == 1
    assert conn.execute(
        "select count(*) from raw.messages where _source_file = 'product_usage/a.jsonl'"
    ).fetchone() == (3,)
    assert conn.execute(
        "select row_count from raw.load_manifest where source_file = 'product_usage/a.jsonl'"
    ).fetchone() == (3,)


def test_no_product_usage_folder(conn, tmp_path):
    (tmp_path / "landing").mkdir()
    st = load_messages(conn, tmp_path / "landing")
    assert st.files_loaded == 0 and st.notes


def test_line_ranks_per_file_in_read_order_whether_or_not_a_files_rows_are_consecutive():
    """Rule (line numbers, input-contract: a bad line is named by file and line): each staged
    line's rank in its file follows the reader's order. The one-pass ranking (rowid minus the
    file's first rowid) applies when every file's rows are consecutive, as the reader stages
    them; a file whose rows are interleaved with another's is ranked by the window instead, and
    both give the ranks a sort by (file, rowid) gives."""
    from dagster_project.ingest import messages

    conn = duckdb.connect()
    try:
        for staged in (
            ["a", "a", "a", "b", "b", "c"],  # one file after another: the one-pass ranking
            ["a", "b", "a", "c", "b", "a"],  # interleaved: the window
        ):
            conn.execute(f"DROP TABLE IF EXISTS {messages._LINES}")
            conn.execute(f"CREATE TEMP TABLE {messages._LINES} (line VARCHAR, filename VARCHAR)")
            for i, name in enumerate(staged):
                conn.execute(f"INSERT INTO {messages._LINES} VALUES (?, ?)", [f"{name}{i}", name])
            ranked = conn.execute(
                f"SELECT line, filename, k FROM {messages._numbered_lines(conn)} ORDER BY line"
            ).fetchall()
            expected = []
            for name in sorted(set(staged)):
                lines = [f"{n}{i}" for i, n in enumerate(staged) if n == name]
                expected += [(line, name, k) for k, line in enumerate(lines, start=1)]
            assert sorted(ranked) == sorted(expected), staged
    finally:
        conn.close()
