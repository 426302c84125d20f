"""The benchmark's floor measures the real work: the plain pass's aggregates equal an
independent Python computation over the same landing files (the generated sample company,
with its invalid lines, duplicates, late arrivals, deltas and unparsable CRM values), and the
one-day helper adds a day the plain pass then counts; the report's memory verdict counts
failed runs."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
import sys
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.oneday import add_day, remove_added  # noqa: E402
from benchmarks.plain import run_plain_pass  # noqa: E402
from benchmarks.proctree import Measurement  # noqa: E402
from benchmarks.report import GB, Series, markdown, step_timings, targets  # noqa: E402

TZ = "America/New_York"


def _message_lines(landing: Path):
    for path in sorted((landing / "product_usage").rglob("*")):
        if path.name.endswith(".jsonl.gz"):
            text = gzip.decompress(path.read_bytes()).decode("utf-8")
        elif path.name.endswith(".jsonl"):
            text = path.read_text(encoding="utf-8")
        else:
            continue
        yield from (line for line in text.splitlines() if line.strip())


def expected_message_counts(landing: Path, tz: str) -> tuple[dict, int]:
    """{(workspace, feature, day): distinct track messages}, and the number of lines."""
    zone = ZoneInfo(tz)
    ids: dict[tuple, set] = defaultdict(set)
    n_lines = 0
    for line in _message_lines(landing):
        n_lines += 1
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if not isinstance(msg, dict) or msg.get("type") != "track":
            continue
        mid, ts = msg.get("messageId"), msg.get("timestamp")
        if mid is None or not isinstance(ts, str):
            continue
        try:
            when = datetime.fromisoformat(ts)
        except ValueError:
            continue
        day = when.astimezone(zone).date()
        feature = (msg.get("properties") or {}).get("feature") or msg.get("event")
        workspace = (msg.get("context") or {}).get("groupId")
        ids[(workspace, feature, day)].add(mid)
    return {k: len(v) for k, v in ids.items()}, n_lines


def expected_won(landing: Path) -> tuple[dict, int]:
    """{(owner, close month, currency): won amount} over current Opportunity rows, and the
    number of CSV rows under crm/."""
    current: dict[str, tuple] = {}
    for path in sorted((landing / "crm" / "Opportunity").rglob("*.csv")):
        with open(path, newline="", encoding="utf-8") as f:
            for i, row in enumerate(csv.DictReader(f)):
                key = (datetime.fromisoformat(row["SystemModstamp"]), str(path), i)
                if row["Id"] not in current or key > current[row["Id"]][0]:
                    current[row["Id"]] = (key, row)
    won: dict[tuple, Decimal] = defaultdict(Decimal)
    for _, row in current.values():
        if row["IsWon"].lower() not in ("true", "1") or row["IsDeleted"].lower() in ("true", "1"):
            continue
        try:
            close = date.fromisoformat(row["CloseDate"])
            amount = Decimal(row["Amount"])
        except (ValueError, InvalidOperation):
            continue
        currency = (row["CurrencyIsoCode"] or "USD").upper()
        won[(row["OwnerId"], close.replace(day=1), currency)] += amount
    crm_rows = 0
    for path in (landing / "crm").rglob("*.csv"):
        with open(path, newline="", encoding="utf-8") as f:
            crm_rows += sum(1 for _ in csv.DictReader(f))
    return dict(won), crm_rows


def _actual(conn: duckdb.DuckDBPyConnection) -> tuple[dict, dict]:
    messages = {
        (w, f, d): n
        for w, f, d, n in conn.execute(
            "select workspace, feature, message_date, messages from message_counts"
        ).fetchall()
    }
    won = {
        (o, m.date() if isinstance(m, datetime) else m, c): a
        for o, m, c, a in conn.execute(
            "select owner_id, close_month, currency, won_amount from won_by_owner_month"
        ).fetchall()
    }
    return messages, won


def test_plain_pass_matches_an_independent_computation(sample_company):
    landing, _config = sample_company
    conn = duckdb.connect()
    summary = run_plain_pass(conn, landing, TZ)
    messages, won = _actual(conn)

    exp_messages, n_lines = expected_message_counts(landing, TZ)
    exp_won, crm_rows = expected_won(landing)
    assert messages == exp_messages
    assert won == exp_won
    assert summary.message_lines == n_lines
    assert summary.crm_rows == crm_rows
    assert summary.track_messages == sum(exp_messages.values())
    # The sample's edge cases are in play (duplicates, invalid lines, deltas).
    assert summary.track_messages < n_lines
    edge = conn.execute(
        "select count(*) from message_counts where workspace = 'ws-edge-nogroup' "
        "and feature = 'Slack Integration' and message_date = '2026-11-19' and messages = 6"
    ).fetchone()[0]
    assert edge == 1  # msg-edge-dup-01..06: eight copies, six messages


def test_one_day_adds_a_day_the_plain_pass_counts(sample_company, tmp_path):
    landing, _config = sample_company
    copy = tmp_path / "landing"
    shutil.copytree(landing / "crm", copy / "crm")
    for day in ("2026-11-19", "2026-11-20"):  # the last days are enough to replay
        src = landing / "product_usage" / f"date={day}"
        shutil.copytree(src, copy / "product_usage" / src.name)
    before = run_plain_pass(duckdb.connect(), copy, "UTC")

    added = add_day(copy)
    assert added.day == date(2026, 11, 21)
    assert added.messages > 100 and added.opportunity_rows >= 4
    conn = duckdb.connect()
    after = run_plain_pass(conn, copy, "UTC")
    assert after.message_lines == before.message_lines + added.messages
    assert after.crm_rows == before.crm_rows + added.opportunity_rows
    new_day = conn.execute(
        "select sum(messages) from message_counts where message_date = '2026-11-21'"
    ).fetchone()[0]
    assert new_day and new_day > 0
    # Opportunities closed won on the new day show up as won amount in November.
    assert sum(expected_won(copy)[0].values()) >= sum(expected_won(landing)[0].values())

    remove_added(added)
    assert not (copy / "product_usage" / "date=2026-11-21").exists()
    assert run_plain_pass(duckdb.connect(), copy, "UTC") == before


@pytest.mark.parametrize("line", ["not json", '{"type":"track","messageId":"x"}'])
def test_plain_pass_skips_what_is_not_a_countable_track(tmp_path, line):
    landing = tmp_path / "landing"
    (landing / "product_usage" / "date=2026-01-02").mkdir(parents=True)
    (landing / "crm" / "Opportunity").mkdir(parents=True)
    ok = {
        "type": "track",
        "messageId": "m1",
        "timestamp": "2026-01-02T03:00:00.000Z",
        "event": "Feature Used",
        "properties": {"feature": "SSO"},
        "context": {"groupId": "ws-1"},
    }
    (landing / "product_usage" / "date=2026-01-02" / "messages.jsonl").write_text(
        json.dumps(ok) + "\n" + line + "\n"
    )
    (landing / "crm" / "Opportunity" / "full.csv").write_text(
        "Id,OwnerId,Amount,CurrencyIsoCode,CloseDate,IsWon,IsDeleted,SystemModstamp\n"
        "006A,005A,100.00,,2026-01-05,true,false,2026-01-05T10:00:00Z\n"
    )
    conn = duckdb.connect()
    summary = run_plain_pass(conn, landing, TZ)
    messages, won = _actual(conn)
    # 03:00 UTC on Jan 2 is Jan 1 in New York.
    assert messages == {("ws-1", "SSO", date(2026, 1, 1)): 1}
    assert won == {("005A", date(2026, 1, 1), "USD"): Decimal("100.00")}
    assert summary.message_lines == 2


def _measurement(returncode: int, peak_mb: float) -> Measurement:
    return Measurement(
        command=["quotaboard", "run"],
        returncode=returncode,
        wall_s=10.0,
        cpu_s=9.0,
        peak_tree_rss_mb=peak_mb,
        max_single_rss_mb=peak_mb,
        samples=1,
        stdout="",
        stderr="",
        load_before=(0.0, 0.0, 0.0),
        load_after=(0.0, 0.0, 0.0),
    )


def test_peak_memory_target_counts_failed_runs():
    """A run that failed (out of memory, say) still peaked: the memory verdict includes it,
    and a failed series gives no ratio."""
    series = {
        "plain": Series("plain", "floor", [_measurement(0, 1_000.0)]),
        "full": Series("full", "rebuild", [_measurement(1, 5_000.0)]),
    }
    by_name = {t.name: t for t in targets(series, scale=200)}
    assert by_name["peak memory < 3 GB"].value == pytest.approx(5_000.0 / GB)
    assert by_name["peak memory < 3 GB"].verdict.startswith("missed")
    assert by_name["full rebuild / plain pass <= 3"].value is None


def test_peak_memory_target_is_judged_in_decimal_gigabytes():
    """Rule: the issue's memory target is 3 GB in decimal units (3 x 10^9 bytes). The bench
    measures MiB: 2,900 MiB is 3.04 GB (missed, though under 3 GiB), 2,800 MiB is 2.94 GB."""
    for peak_mib, met in ((2_900.0, False), (2_800.0, True)):
        series = {"full": Series("full", "rebuild", [_measurement(0, peak_mib)])}
        memory = {t.name: t for t in targets(series, scale=200)}["peak memory < 3 GB"]
        assert memory.value == pytest.approx(peak_mib * 2**20 / 1e9)
        assert (memory.verdict == "met") is met


def test_step_times_are_read_from_every_kind_of_progress_line():
    """Rule: the per-step table counts every step of the run's output, whatever its outcome
    (`ok`, `warn` for a check with warnings, `FAILED`), and the start-up time."""
    stdout = "\n".join(
        [
            "  definitions loaded in 5.2s",
            "  ok  raw/messages  1.7s",
            "  warn raw/messages_gx_landing  5.9s (1 check failed)",
            "  .. dbt_models (dbt build: models, then their tests)",
            "  warn dbt_models  57.7s (74 assets, 248 checks passed, 1 failed)",
            "  FAILED published/docs  3.0s",
        ]
    )
    assert step_timings(stdout) == {
        "(start-up: imports, definitions)": 5.2,
        "raw/messages": 1.7,
        "raw/messages_gx_landing": 5.9,
        "dbt_models": 57.7,
        "published/docs": 3.0,
    }


def test_a_second_bench_page_of_the_day_never_overwrites_the_first(tmp_path):
    """Rule (results pages): the first page of a day and scale is <date>-scale<N>; a later run
    the same day gets its commit in the name, and a third of the same commit a number."""
    from benchmarks.bench import results_stem

    first = results_stem(tmp_path, "2026-12-07", 200, "da6407c")
    assert first == tmp_path / "2026-12-07-scale200"
    first.with_suffix(".md").write_text("first")
    second = results_stem(tmp_path, "2026-12-07", 200, "da6407c + uncommitted working tree")
    assert second == tmp_path / "2026-12-07-scale200-da6407c"
    second.with_suffix(".md").write_text("second")
    third = results_stem(tmp_path, "2026-12-07", 200, "da6407c")
    assert third == tmp_path / "2026-12-07-scale200-da6407c-2"
    assert results_stem(tmp_path, "2026-12-07", 1, "da6407c") == tmp_path / "2026-12-07-scale1"
    assert first.with_suffix(".md").read_text() == "first"


def test_cpu_steal_is_the_share_of_all_cores_time_between_two_readings():
    """Noise (issue 21): the page reports the hypervisor's CPU steal over each measurement, the
    share of all cores' ticks in /proc/stat's steal column between the readings before and
    after the command. Nothing to compare (no file, or no tick elapsed) gives no value."""
    from benchmarks.proctree import cpu_ticks, run_measured, steal_between

    assert steal_between((10, 1000), (60, 1200)) == 0.25
    assert steal_between((10, 1000), (10, 1000)) is None
    assert steal_between(None, (10, 1000)) is None
    ticks = cpu_ticks()
    if ticks is None:
        pytest.skip("no /proc/stat on this machine")
    steal, total = ticks
    assert 0 <= steal <= total
    m = run_measured([sys.executable, "-c", "sum(range(3_000_000))"])
    assert m.steal_share is not None and 0.0 <= m.steal_share <= 1.0
    page = markdown(
        title="t",
        machine={},
        params={"scale": 1},
        series={"full": Series("full", "rebuild", [m])},
        notes=[],
    )
    row = next(line for line in page.splitlines() if line.startswith("| full"))
    assert row.rstrip(" |").endswith(f"{100 * m.steal_share:.0f}")
