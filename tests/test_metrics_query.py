"""``quotaboard metrics`` output (dagster_project/metrics_query.py): rows sorted by the group-by
columns, money in the corporate currency with thousands separators, counts as integers,
attainments as percentages, never scientific notation; ``--csv`` plain numbers for machines.

The query against a real published home is in tests/test_semantic.py (slow)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from dagster_project import cli
from dagster_project.metrics_query import (
    COUNT,
    MONEY,
    NUMBER,
    RATIO,
    format_csv,
    format_table,
    human_number,
    metric_kinds,
    parse_query,
    plain_number,
    publish_dbt_semantic_manifest,
    query_args,
    shape_rows,
)


def _request(group_by=("fiscal_period",), metrics=("bookings_actual",), order=None, **kw):
    return parse_query(
        query_args(metrics=list(metrics), group_by=list(group_by), order=list(order or []), **kw)
    )


def test_plain_numbers_never_use_scientific_notation():
    """Rule: --csv writes positional decimals at full precision (MetricFlow's table printed
    3.54234e+07)."""
    assert plain_number(35423400.0) == "35423400"
    assert plain_number(35423412.345678) == "35423412.345678"
    assert plain_number(1.5e16) == "15000000000000000"
    assert plain_number(1.2e-7) == "0.00000012"
    assert plain_number(-0.0) == "0"
    assert float(plain_number(0.1 + 0.2)) == 0.1 + 0.2  # round-trips exactly
    assert plain_number(2954346.20880969, decimals=2) == "2954346.21"


@pytest.mark.parametrize(
    ("value", "kind", "currency", "decimals", "expected"),
    [
        (35423412.6, MONEY, "USD", None, "$35,423,413"),
        (1234.5, MONEY, "EUR", 2, "€1,234.50"),
        (-5000.0, MONEY, "GBP", None, "-£5,000"),
        (-0.2, MONEY, "USD", None, "$0"),  # rounds to zero: no minus sign
        (1234567.0, MONEY, "CHF", None, "CHF 1,234,567"),  # no symbol: the code first
        (1234567.0, MONEY, None, None, "1,234,567"),  # currency unknown: the number alone
        (1204.0, COUNT, "USD", None, "1,204"),
        (374.0, COUNT, "USD", 3, "374"),  # counts stay integers
        (0.761176, RATIO, "USD", None, "76.1%"),
        (1.04696, RATIO, "USD", 3, "104.696%"),
        (43607793.1234, NUMBER, "USD", None, "43,607,793.12"),
        (None, MONEY, "USD", None, ""),
        (float("nan"), RATIO, "USD", None, ""),
    ],
)
def test_numbers_for_people(value, kind, currency, decimals, expected):
    """Rule: money in the corporate currency with thousands separators, counts as integers,
    ratios as percentages; --decimals sets the digits of money, ratios and plain numbers."""
    assert human_number(value, kind, currency, decimals) == expected


def test_metric_kinds_come_from_the_registry_and_the_manifest(tmp_path):
    """Rule: <metric>, <metric>_actual, <metric>_target carry the registry unit; ratio metrics
    are ratios; counted measures are counts; mixed-unit sums are plain numbers."""
    manifest = tmp_path / "semantic_manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "semantic_models": [
                    {
                        "measures": [
                            {"name": "credit_line_count", "agg": "count"},
                            {"name": "actual_total", "agg": "sum"},
                        ]
                    }
                ],
                "metrics": [
                    {"name": "weighted_attainment", "type": "ratio", "type_params": {}},
                    {
                        "name": "credit_lines",
                        "type": "simple",
                        "type_params": {"measure": {"name": "credit_line_count"}},
                    },
                    {
                        "name": "actual",
                        "type": "simple",
                        "type_params": {"measure": {"name": "actual_total"}},
                    },
                ],
            }
        )
    )
    names = [
        "bookings",
        "bookings_actual",
        "installs_target",
        "new_logos",
        "influenced_bookings_actual",
        "bookings_attainment",
        "weighted_attainment",
        "credit_lines",
        "actual",
    ]
    assert metric_kinds(names, manifest) == {
        "bookings": MONEY,
        "bookings_actual": MONEY,
        "installs_target": COUNT,
        "new_logos": COUNT,
        "influenced_bookings_actual": MONEY,
        "bookings_attainment": RATIO,
        "weighted_attainment": RATIO,
        "credit_lines": COUNT,
        "actual": NUMBER,
    }


MF_HEADER = ["metric_time__month", "fiscal_period", "bookings_actual", "installs_actual"]
MF_ROWS = [
    ["2026-02-01 00:00:00", "FY2027-M10", "", "28.0"],
    ["2026-02-01 00:00:00", "FY2027", "43607793.12345", "374.0"],
    ["2025-02-01 00:00:00", "None", "5.0", ""],
    ["2026-05-01 00:00:00", "FY2027-Q2", "4993986.5", "356.0"],
    ["2026-02-01 00:00:00", "FY2027-Q1", "35423400.0", "293.0"],
    ["2025-02-01 00:00:00", "FY2026", "11534439.0", ""],
]


def test_rows_are_sorted_by_the_group_by_columns_in_the_order_named():
    """Rule: columns in the order asked (group-by, then metrics), fiscal periods as year,
    quarters, months, nulls last, no midnight time of day on dates."""
    request = _request(
        group_by=("fiscal_period", "metric_time__month"),
        metrics=("bookings_actual", "installs_actual"),
    )
    header, rows = shape_rows(MF_HEADER, [list(r) for r in MF_ROWS], request)
    assert header == ["fiscal_period", "metric_time__month", "bookings_actual", "installs_actual"]
    assert [r[0] for r in rows] == [
        "FY2026",
        "FY2027",
        "FY2027-Q1",
        "FY2027-Q2",
        "FY2027-M10",
        "None",
    ]
    assert rows[0][1] == "2025-02-01"


def test_an_explicit_order_is_kept():
    """Rule: with --order the rows stay in MetricFlow's order."""
    request = _request(group_by=("fiscal_period",), order=["-bookings_actual"])
    assert request.ordered
    _, rows = shape_rows(MF_HEADER, [list(r) for r in MF_ROWS], request)
    assert [r[0] for r in rows] == [_[1] for _ in MF_ROWS]


def test_the_table_for_people():
    request = _request(group_by=("fiscal_period",), metrics=("bookings_actual", "installs_actual"))
    header, rows = shape_rows(MF_HEADER, [list(r) for r in MF_ROWS], request)
    text = format_table(header, rows, {"bookings_actual": MONEY, "installs_actual": COUNT}, "USD")
    lines = text.splitlines()
    assert lines[0].split() == header
    assert "e+" not in text
    row = {line.split()[0]: line for line in lines[2:]}
    assert row["FY2027-Q1"].split()[-2:] == ["$35,423,400", "293"]
    assert row["FY2027"].split()[-2:] == ["$43,607,793", "374"]
    # numbers right-aligned: the last column ends where its header ends
    assert {len(row[p]) for p in ("FY2027", "FY2027-Q1", "FY2027-Q2")} == {len(lines[0])}


def test_csv_for_machines():
    """Rule: --csv keeps full precision in positional notation and empty cells for null."""
    request = _request(
        group_by=("fiscal_period",), metrics=("bookings_actual", "installs_actual"), csv="-"
    )
    assert request.csv == "-"
    header, rows = shape_rows(MF_HEADER, [list(r) for r in MF_ROWS], request)
    parsed = list(csv.DictReader(io.StringIO(format_csv(header, rows, request.metrics, None))))
    by_period = {r["fiscal_period"]: r for r in parsed}
    assert by_period["FY2027-Q1"]["bookings_actual"] == "35423400"
    assert by_period["FY2027"]["bookings_actual"] == "43607793.12345"
    assert by_period["FY2027-M10"]["bookings_actual"] == ""
    assert by_period[""]["bookings_actual"] == "5"  # a null group is empty, not "None"
    assert [r["fiscal_period"] for r in parsed][0] == "FY2026"


def test_cli_csv_without_a_file_means_standard_output(tmp_path):
    parser = cli.build_parser()
    args = parser.parse_args(["metrics", "--metrics", "bookings_actual", "--csv"])
    assert args.csv == "-"
    assert "-" in query_args(["bookings_actual"], csv=args.csv)
    args = parser.parse_args(["metrics", "--metrics", "x", "--csv", "out.csv", "--decimals", "2"])
    request = parse_query(query_args(["x"], csv=args.csv) + ["--decimals", str(args.decimals)])
    assert request.csv.endswith("out.csv") and request.decimals == 2
    assert "--csv" not in request.mf_args and "--decimals" not in request.mf_args


def test_the_semantic_manifest_is_where_mf_in_dbt_looks(tmp_path, monkeypatch):
    """Rule: `mf` run in dbt/ reads dbt/target/semantic_manifest.json: quotaboard metrics
    keeps it equal to the parsed project's."""
    from dagster_project.defs.transform import project

    monkeypatch.setattr(project, "DBT_PROJECT_DIR", tmp_path / "dbt")
    source = tmp_path / "semantic_manifest.json"
    source.write_text('{"semantic_models": []}')
    target = publish_dbt_semantic_manifest(source)
    assert target == tmp_path / "dbt" / "target" / "semantic_manifest.json"
    assert target.read_text() == source.read_text()
    source.write_text('{"semantic_models": [], "metrics": []}')
    assert publish_dbt_semantic_manifest(source).read_text() == source.read_text()
