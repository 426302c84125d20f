"""Configuration loading and validation (dagster_project.ingest.config)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from dagster_project.ingest.config import SETTINGS_DEFAULTS, ConfigError, load_config, write_config
from dagster_project.ingest.schema import create_empty_tables
from dagster_project.metric_registry import metric_names, metrics_valid_for

TEAMS = """team_id,team_name,function,parent_team_id,mission
company,Company,leadership,,Grow.
sales,Sales,sales_management,company,Sell.
ae,AEs,sales,sales,Close.
prod,Product,product,company,Build.
"""
PEOPLE = """person_id,person_name,crm_user_id,team_id,role,manager_person_id,valid_from,valid_to
p1,Ann,u1,ae,account_executive,p2,2026-01-01,2026-06-01
p1,Ann,u1,sales,sales_manager,,2026-06-01,
p2,Bob,u2,sales,vp_sales,,2025-01-01,
p3,Cat,,prod,product_manager,,2025-01-01,
"""
PLANS = """assignee_type,assignee_id,fiscal_period,metric,target,weight,cap,prorate,narrative
person,p1,FY2027-Q1,bookings,100000,1,1.5,true,Close deals.
person,p1,FY2027-M05,new_logos,3,,,,New logos.
team,prod,FY2027,installs,50,2,,,Adoption.
team,ae,FY2027,bookings,1e6,,,,Team number.
"""
FEATURES = """feature,team_id
reports,prod
"""
ADJUSTMENTS = (
    "adjustment_id,assignee_type,assignee_id,metric,credit_date,amount,reason,approved_by\n"
    """adj1,person,p1,bookings,2026-03-01,-500.5,Clawback,CFO
"""
)
SETTINGS = """corporate_currency: EUR
fiscal_year_start_month: 2
timezone: America/New_York
"""


def make_config(root: Path, **overrides: str | None) -> Path:
    files = {
        "teams.csv": TEAMS,
        "people.csv": PEOPLE,
        "quota_plans.csv": PLANS,
        "feature_ownership.csv": FEATURES,
        "adjustments.csv": ADJUSTMENTS,
        "settings.yml": SETTINGS,
    }
    for name, text in overrides.items():
        files[name.replace("__", ".")] = text
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        if text is not None:
            (root / name).write_text(text, encoding="utf-8")
    return root


def errors_of(tmp_path: Path, **overrides: str | None) -> list[str]:
    with pytest.raises(ConfigError) as e:
        load_config(make_config(tmp_path / "cfg", **overrides))
    return e.value.errors


def test_valid_config_loads_and_writes(tmp_path):
    cfg = load_config(make_config(tmp_path / "cfg"))
    assert [t["team_id"] for t in cfg.teams] == ["company", "sales", "ae", "prod"]
    assert cfg.people[1]["valid_to"] is None
    assert cfg.people[0]["valid_from"] == date(2026, 1, 1)
    assert cfg.quota_plans[0]["cap"] == 1.5 and cfg.quota_plans[0]["prorate"] is True
    assert cfg.quota_plans[1]["weight"] is None and cfg.quota_plans[1]["prorate"] is None
    assert cfg.quota_plans[3]["target"] == 1_000_000
    assert cfg.adjustments[0]["amount"] == -500.5
    assert cfg.settings["corporate_currency"] == "EUR"
    assert cfg.settings["install_events"] == ["App Installed", "Integration Installed"]

    conn = duckdb.connect(str(tmp_path / "wh.duckdb"))
    create_empty_tables(conn)
    counts = write_config(conn, cfg)
    write_config(conn, cfg)  # replaces, never appends
    assert counts["people"] == 4
    assert conn.execute("select count(*) from config.people").fetchone() == (4,)
    assert conn.execute(
        "select corporate_currency, fiscal_year_start_month, timezone, install_events, "
        "pace_at_risk, duckdb_memory_limit, board_show_people from config.settings"
    ).fetchall() == [
        ("EUR", 2, "America/New_York", ["App Installed", "Integration Installed"], 0.8, None, True)
    ]
    assert conn.execute(
        "select valid_to from config.people where person_id = 'p1' order by valid_from"
    ).fetchall() == [(date(2026, 6, 1),), (None,)]


def test_settings_defaults(tmp_path):
    cfg = load_config(make_config(tmp_path / "cfg", settings__yml=""))
    assert cfg.settings == SETTINGS_DEFAULTS
    assert cfg.settings["timezone"] == "UTC"
    assert cfg.settings["fiscal_year_start_month"] == 1
    assert cfg.settings["influence_window_days"] == 90


def test_column_names_match_ignoring_case_and_underscores(tmp_path):
    teams = TEAMS.replace(
        "team_id,team_name,function,parent_team_id,mission",
        "TeamId,TEAM_NAME,Function,parentTeamId,Mission,extra",
    )
    cfg = load_config(make_config(tmp_path / "cfg", teams__csv=teams))
    assert cfg.teams[1]["parent_team_id"] == "company"


def test_optional_adjustments(tmp_path):
    cfg = load_config(make_config(tmp_path / "cfg", adjustments__csv=None))
    assert cfg.adjustments == []


@pytest.mark.parametrize(
    ("settings", "key", "what"),
    [
        ("fiscal_year_start_month: 13\n", "fiscal_year_start_month", "1-12"),
        ("timezone: Mars/Olympus\n", "timezone", "IANA"),
        ("corporate_currency: EURO\n", "corporate_currency", "3-letter"),
        ("influence_window_days: 0\n", "influence_window_days", "positive integer"),
        ("activation_min_events: 2.5\n", "activation_min_events", "positive integer"),
        ("pace_at_risk: 1.2\n", "pace_at_risk", "(0, 1]"),
        ("pace_at_risk: 0\n", "pace_at_risk", "(0, 1]"),
        ("freshness_max_age_hours: -1\n", "freshness_max_age_hours", "positive"),
        ("board_show_people: maybe\n", "board_show_people", "true or false"),
        ("duckdb_memory_limit: lots\n", "duckdb_memory_limit", "memory size"),
        ("timezon: UTC\n", "timezon", "unknown setting"),
    ],
)
def test_settings_errors(tmp_path, settings, key, what):
    errs = errors_of(tmp_path, settings__yml="install_events: [A]\n" + settings)
    assert len(errs) == 1
    assert errs[0].startswith(f"settings.yml, line 2, key {key}:")
    assert what in errs[0]


def test_duplicate_settings_key(tmp_path):
    errs = errors_of(tmp_path, settings__yml="timezone: UTC\ntimezone: Europe/Paris\n")
    assert errs == ["settings.yml, line 2, key timezone: the key appears twice"]


def test_missing_files_and_columns(tmp_path):
    errs = errors_of(
        tmp_path,
        people__csv=None,
        settings__yml=None,
        feature_ownership__csv="feature\nreports\n",
    )
    assert "people.csv: file is missing from the config folder" in errs
    assert "settings.yml: file is missing from the config folder" in errs
    assert "feature_ownership.csv, line 1, column team_id: required column is missing" in errs


@pytest.mark.parametrize(
    ("file", "text", "expected"),
    [
        (
            "teams.csv",
            TEAMS + "ae,Dup,sales,sales,\n",
            "teams.csv, row 5 (line 6), column team_id: duplicate team_id 'ae' (first on row 3)",
        ),
        (
            "teams.csv",
            TEAMS.replace("ae,AEs,sales,", "ae,AEs,salez,"),
            "teams.csv, row 3 (line 4), column function: 'salez' is not one of",
        ),
        (
            "teams.csv",
            TEAMS.replace("prod,Product,product,company", "prod,Product,product,nowhere"),
            "teams.csv, row 4 (line 5), column parent_team_id: unknown team 'nowhere'",
        ),
        (
            "teams.csv",
            TEAMS.replace("company,Company,leadership,,", "company,Company,leadership,ae,"),
            "column parent_team_id: team cycle company -> ae -> sales -> company",
        ),
        (
            "people.csv",
            PEOPLE.replace("p3,Cat,,prod", "p3,Cat,,nope"),
            "people.csv, row 4 (line 5), column team_id: unknown team 'nope'",
        ),
        (
            "people.csv",
            PEOPLE.replace("2025-01-01,\np3", "2025-02-30,\np3"),
            "people.csv, row 3 (line 4), column valid_from: '2025-02-30' is not a valid date",
        ),
        (
            "people.csv",
            PEOPLE.replace("2026-01-01,2026-06-01", "2026-06-01,2026-01-01"),
            "people.csv, row 1 (line 2), column valid_to: valid_to 2026-01-01 must be after",
        ),
        (
            "people.csv",
            PEOPLE.replace("2026-01-01,2026-06-01", "2026-01-01,2026-07-01"),
            "people.csv, row 2 (line 3), column valid_from: membership of person 'p1' overlaps "
            "row 1",
        ),
        (
            "people.csv",
            PEOPLE.replace("p3,Cat,,prod", "p3,Cat,u2,prod"),
            "people.csv, row 4 (line 5), column crm_user_id: crm_user_id 'u2' already belongs "
            "to person 'p2'",
        ),
        (
            "people.csv",
            PEOPLE.replace("account_executive,p2", "account_executive,p9"),
            "people.csv, row 1 (line 2), column manager_person_id: unknown person 'p9'",
        ),
        (
            "quota_plans.csv",
            PLANS + "robot,p1,FY2027,bookings,1,,,,\n",
            "quota_plans.csv, row 5 (line 6), column assignee_type: 'robot' is not",
        ),
        (
            "quota_plans.csv",
            PLANS + "person,p9,FY2027,bookings,1,,,,\n",
            "quota_plans.csv, row 5 (line 6), column assignee_id: unknown person 'p9'",
        ),
        (
            "quota_plans.csv",
            PLANS + "team,t9,FY2027,bookings,1,,,,\n",
            "quota_plans.csv, row 5 (line 6), column assignee_id: unknown team 't9'",
        ),
        (
            "quota_plans.csv",
            PLANS + "person,p1,FY27-Q1,bookings,1,,,,\n",
            "quota_plans.csv, row 5 (line 6), column fiscal_period: 'FY27-Q1' is not a fiscal",
        ),
        (
            "quota_plans.csv",
            PLANS + "person,p1,FY2027-M13,bookings,1,,,,\n",
            "column fiscal_period: 'FY2027-M13' is not a fiscal period",
        ),
        (
            "quota_plans.csv",
            PLANS + "person,p1,FY2027,revenue,1,,,,\n",
            "quota_plans.csv, row 5 (line 6), column metric: unknown metric 'revenue'",
        ),
        (
            "quota_plans.csv",
            PLANS + "person,p1,FY2027,installs,1,,,,\n",
            "column metric: metric 'installs' is not valid for a person",
        ),
        (
            "quota_plans.csv",
            PLANS + "team,ae,FY2027,team_bookings,1,,,,\n",
            "column metric: metric 'team_bookings' is not valid for a team",
        ),
        (
            "quota_plans.csv",
            PLANS + "person,p1,FY2027,bookings,0,,,,\n",
            "quota_plans.csv, row 5 (line 6), column target: '0' must be greater than 0",
        ),
        (
            "quota_plans.csv",
            PLANS + "person,p1,FY2027,bookings,12.5.1,,,,\n",
            "column target: '12.5.1' is not a number",
        ),
        (
            "quota_plans.csv",
            PLANS + "person,p1,FY2027,bookings,1,-1,,,\n",
            "column weight: '-1' must be greater than 0",
        ),
        (
            "quota_plans.csv",
            PLANS + "person,p1,FY2027,bookings,1,,0,,\n",
            "column cap: '0' must be greater than 0",
        ),
        (
            "quota_plans.csv",
            PLANS + "person,p1,FY2027,bookings,1,,,yes,\n",
            "column prorate: 'yes' is not true, false or empty",
        ),
        (
            "quota_plans.csv",
            PLANS + "person,p1,FY2027-Q1,bookings,5,,,,\n",
            "quota_plans.csv, row 5 (line 6): duplicate plan row for "
            "(person, p1, FY2027-Q1, bookings) (first on row 1)",
        ),
        (
            "feature_ownership.csv",
            FEATURES + "reports,prod\n",
            "feature_ownership.csv, row 2 (line 3), column feature: duplicate feature 'reports'",
        ),
        (
            "feature_ownership.csv",
            FEATURES + "search,ghost\n",
            "feature_ownership.csv, row 2 (line 3), column team_id: unknown team 'ghost'",
        ),
        (
            "adjustments.csv",
            ADJUSTMENTS + "adj1,team,ae,bookings,2026-03-01,5,x,y\n",
            "adjustments.csv, row 2 (line 3), column adjustment_id: duplicate adjustment_id",
        ),
        (
            "adjustments.csv",
            ADJUSTMENTS + "adj2,person,ghost,bookings,2026-03-01,5,x,y\n",
            "adjustments.csv, row 2 (line 3), column assignee_id: unknown person 'ghost'",
        ),
        (
            "adjustments.csv",
            ADJUSTMENTS + "adj2,team,ae,assisted_bookings,2026-03-01,5,x,y\n",
            "column metric: metric 'assisted_bookings' is not valid for a team",
        ),
        (
            "adjustments.csv",
            ADJUSTMENTS + "adj2,team,ae,bookings,03/01/2026,5,x,y\n",
            "column credit_date: '03/01/2026' is not a valid date",
        ),
        (
            "adjustments.csv",
            ADJUSTMENTS + 'adj2,team,ae,bookings,2026-03-01,"1,5",x,y\n',
            "column amount: '1,5' is not a number",
        ),
        (
            "adjustments.csv",
            ADJUSTMENTS + "adj2,team,ae,bookings,2026-03-01,5,,y\n",
            "adjustments.csv, row 2 (line 3), column reason: a value is required",
        ),
        (
            "adjustments.csv",
            ADJUSTMENTS + "adj2,team,ae,bookings,2026-03-01,5,x,\n",
            "column approved_by: a value is required",
        ),
    ],
)
def test_row_errors(tmp_path, file, text, expected):
    errs = errors_of(tmp_path, **{file.replace(".", "__"): text})
    assert any(expected in e for e in errs), errs


def test_all_errors_reported_together(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_config(
            make_config(
                tmp_path / "cfg",
                teams__csv=TEAMS.replace("salez", "x").replace("ae,AEs,sales,", "ae,AEs,bad,"),
                quota_plans__csv=PLANS + "person,p1,FY2027,revenue,0,,,,\n",
                settings__yml="colour: blue\n",
            )
        )
    msg = str(e.value)
    assert msg.startswith("4 configuration errors:")
    assert "teams.csv, row 3 (line 4), column function" in msg
    assert "column metric: unknown metric 'revenue'" in msg
    assert "column target: '0' must be greater than 0" in msg
    assert "settings.yml, line 1, key colour: unknown setting" in msg


def test_missing_config_folder(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope")


# -- metric registry (dbt_project.yml vars.metrics) -----------------------------------------


def test_metrics_come_from_the_registry(tmp_path):
    """net_new_bookings (1.1) is valid for persons and teams; the unknown-metric message lists
    the registry."""
    plans = (
        PLANS + "person,p1,FY2027,net_new_bookings,5,,,,\nteam,ae,FY2027,net_new_bookings,9,,,,\n"
    )
    cfg = load_config(make_config(tmp_path / "cfg", quota_plans__csv=plans))
    assert [p["metric"] for p in cfg.quota_plans][-2:] == ["net_new_bookings"] * 2
    adjustments = ADJUSTMENTS + "adj2,team,ae,net_new_bookings,2026-03-01,5,x,y\n"
    assert load_config(make_config(tmp_path / "cfg2", adjustments__csv=adjustments))
    errs = errors_of(tmp_path, quota_plans__csv=PLANS + "person,p1,FY2027,revenue,1,,,,\n")
    assert errs == [
        "quota_plans.csv, row 5 (line 6), column metric: unknown metric 'revenue' (one of "
        + ", ".join(metric_names())
        + ")"
    ]


def test_metric_invalid_for_assignee_type_names_the_valid_ones(tmp_path):
    errs = errors_of(
        tmp_path, adjustments__csv=ADJUSTMENTS + "a2,person,p1,installs,2026-03-01,5,x,y\n"
    )
    assert errs == [
        "adjustments.csv, row 2 (line 3), column metric: metric 'installs' is not valid for a "
        "person (valid for a person: " + ", ".join(metrics_valid_for("person")) + ")"
    ]


# -- settings of 1.1 -------------------------------------------------------------------------


def test_new_settings_defaults_are_stored(tmp_path):
    cfg = load_config(make_config(tmp_path / "cfg"))
    assert cfg.settings["opportunity_types"] == {
        "New Business": "new_business",
        "Existing Business": "expansion",
        "Expansion": "expansion",
        "Upsell": "expansion",
        "Renewal": "renewal",
    }
    assert cfg.settings["promise_field"] == "Promised_Features__c"
    assert cfg.settings["unreleased_promise_policy"] == "hold"
    assert cfg.settings["closed_through"] is None
    conn = duckdb.connect()
    create_empty_tables(conn)
    counts = write_config(conn, cfg)
    assert counts["opportunity_types"] == 5
    assert conn.execute(
        "select promise_field, unreleased_promise_policy, closed_through from config.settings"
    ).fetchall() == [("Promised_Features__c", "hold", None)]
    assert conn.execute(
        "select opportunity_type, type_key, booking_type from config.opportunity_types"
    ).fetchall() == [
        ("New Business", "new business", "new_business"),
        ("Existing Business", "existing business", "expansion"),
        ("Expansion", "expansion", "expansion"),
        ("Upsell", "upsell", "expansion"),
        ("Renewal", "renewal", "renewal"),
    ]


def test_new_settings_values_are_stored(tmp_path):
    settings = (
        "opportunity_types:\n"
        "  Nouveau client: new_business\n"
        "  '  RENEWAL ': renewal\n"
        "promise_field: ' Deal_Promises__c '\n"
        "unreleased_promise_policy: flag\n"
        "closed_through: 2026-04-30\n"
    )
    cfg = load_config(make_config(tmp_path / "cfg", settings__yml=settings))
    assert cfg.settings["promise_field"] == "Deal_Promises__c"
    assert cfg.settings["closed_through"] == date(2026, 4, 30)
    conn = duckdb.connect()
    create_empty_tables(conn)
    write_config(conn, cfg)
    assert conn.execute(
        "select promise_field, unreleased_promise_policy, closed_through from config.settings"
    ).fetchall() == [("Deal_Promises__c", "flag", date(2026, 4, 30))]
    assert conn.execute("select * from config.opportunity_types").fetchall() == [
        ("Nouveau client", "nouveau client", "new_business"),
        ("  RENEWAL ", "renewal", "renewal"),
    ]
    quoted = load_config(
        make_config(tmp_path / "q", settings__yml="closed_through: '2026-01-31'\n")
    )
    assert quoted.settings["closed_through"] == date(2026, 1, 31)
    null = load_config(make_config(tmp_path / "n", settings__yml="closed_through: null\n"))
    assert null.settings["closed_through"] is None


def test_opportunity_types_replace_the_default_map_not_merge(tmp_path):
    cfg = load_config(
        make_config(
            tmp_path / "cfg", settings__yml="opportunity_types:\n  Renouvellement: renewal\n"
        )
    )
    assert cfg.settings["opportunity_types"] == {"Renouvellement": "renewal"}
    assert cfg.opportunity_types == [
        {
            "opportunity_type": "Renouvellement",
            "type_key": "renouvellement",
            "booking_type": "renewal",
        }
    ]
    # An empty map is a map too: every non-empty Type is then unknown.
    empty = load_config(make_config(tmp_path / "e", settings__yml="opportunity_types: {}\n"))
    assert empty.opportunity_types == []


def test_opportunity_types_keys_equal_ignoring_case_and_spaces_are_an_error(tmp_path):
    settings = (
        "timezone: UTC\n"
        "opportunity_types:\n"
        "  Renewal: renewal\n"
        "  Upsell: expansion\n"
        "  ' renewal ': expansion\n"
    )
    errs = errors_of(tmp_path, settings__yml=settings)
    assert errs == [
        "settings.yml, line 5, key opportunity_types, entry ' renewal ': the same Type as "
        "'Renewal' (line 3); Types are compared ignoring case and surrounding spaces"
    ]
    # Written twice exactly: YAML would keep one silently; it is an error too.
    errs = errors_of(
        tmp_path / "2", settings__yml="opportunity_types:\n  A: renewal\n  A: expansion\n"
    )
    assert errs == [
        "settings.yml, line 3, key opportunity_types, entry 'A': the same Type as 'A' (line 2); "
        "Types are compared ignoring case and surrounding spaces"
    ]


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            "opportunity_types:\n  Renewal: renewals\n",
            "settings.yml, line 3, key opportunity_types, entry 'Renewal': 'renewals' is not a "
            "booking type (one of new_business, expansion, renewal)",
        ),
        (
            "opportunity_types:\n  Upsell: [expansion]\n",
            "settings.yml, line 3, key opportunity_types, entry 'Upsell': 'a list or mapping' is "
            "not a booking type",
        ),
        (
            "opportunity_types: [New Business, Renewal]\n",
            "settings.yml, line 2, key opportunity_types: ['New Business', 'Renewal'] is not a "
            "mapping of Opportunity Type value: booking type",
        ),
        (
            "opportunity_types:\n  '': renewal\n",
            "settings.yml, line 3, key opportunity_types: an entry needs an Opportunity Type "
            "value as its key",
        ),
        ("promise_field: ''\n", "settings.yml, line 2, key promise_field: '' is not a column name"),
        ("promise_field: 42\n", "settings.yml, line 2, key promise_field: 42 is not a column name"),
        (
            "promise_field: Stage_Name\n",
            "settings.yml, line 2, key promise_field: 'Stage_Name' is the Opportunity column "
            "stage_name that Quotaboard already reads",
        ),
        (
            "unreleased_promise_policy: drop\n",
            "settings.yml, line 2, key unreleased_promise_policy: 'drop' is not one of hold, flag",
        ),
        (
            "unreleased_promise_policy: true\n",
            "settings.yml, line 2, key unreleased_promise_policy: True is not one of hold, flag",
        ),
        (
            "closed_through: 2026-02-30\n",
            "settings.yml, line 2, key closed_through: '2026-02-30' is not a date YYYY-MM-DD",
        ),
        (
            "closed_through: 31/01/2026\n",
            "settings.yml, line 2, key closed_through: '31/01/2026' is not a date YYYY-MM-DD",
        ),
        (
            "closed_through: 2026-01-31 10:00:00\n",
            "settings.yml, line 2, key closed_through: '2026-01-31 10:00:00' is not a date",
        ),
        (
            "closed_through: 20260131\n",
            "settings.yml, line 2, key closed_through: 20260131 is not a date",
        ),
        ("promise_fields: X\n", "settings.yml, line 2, key promise_fields: unknown setting"),
    ],
)
def test_new_settings_errors_name_file_and_key(tmp_path, settings, expected):
    errs = errors_of(tmp_path, settings__yml="timezone: UTC\n" + settings)
    assert len(errs) == 1, errs
    assert errs[0].startswith(expected), errs


# -- feature_ownership.csv of 1.1 ------------------------------------------------------------

FEATURES_DATED = """feature,team_id,valid_from,valid_to,released_on
reports,prod,,2026-04-01,2025-06-01
Reports,ae,2026-04-01,,2025-06-01
search,prod,2026-01-01,,
"""


def test_feature_ownership_effective_dated_with_releases(tmp_path):
    cfg = load_config(make_config(tmp_path / "cfg", feature_ownership__csv=FEATURES_DATED))
    assert cfg.feature_ownership == [
        {
            "feature": "reports",
            "team_id": "prod",
            "valid_from": None,
            "valid_to": date(2026, 4, 1),
            "released_on": date(2025, 6, 1),
            "release_tracked": True,
        },
        {
            "feature": "Reports",
            "team_id": "ae",
            "valid_from": date(2026, 4, 1),
            "valid_to": None,
            "released_on": date(2025, 6, 1),
            "release_tracked": True,
        },
        {
            "feature": "search",
            "team_id": "prod",
            "valid_from": date(2026, 1, 1),
            "valid_to": None,
            "released_on": None,  # the column exists: empty = not released yet
            "release_tracked": True,
        },
    ]
    conn = duckdb.connect()
    create_empty_tables(conn)
    write_config(conn, cfg)
    assert conn.execute(
        "select feature, valid_from, valid_to, released_on, release_tracked "
        "from config.feature_ownership where feature = 'search'"
    ).fetchall() == [("search", date(2026, 1, 1), None, None, True)]


def test_feature_ownership_without_released_on_column_is_not_release_tracked(tmp_path):
    """A 1.0 file (no released_on column): every feature counts as released since always."""
    cfg = load_config(make_config(tmp_path / "cfg", feature_ownership__csv=FEATURES))
    assert cfg.feature_ownership == [
        {
            "feature": "reports",
            "team_id": "prod",
            "valid_from": None,
            "valid_to": None,
            "released_on": None,
            "release_tracked": False,
        }
    ]
    dated = "feature,team_id,valid_from\nreports,prod,2026-01-01\n"
    cfg = load_config(make_config(tmp_path / "cfg2", feature_ownership__csv=dated))
    assert cfg.feature_ownership[0]["release_tracked"] is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            FEATURES_DATED.replace(",,2026-04-01,", ",,2026-05-01,"),
            "feature_ownership.csv, row 2 (line 3), column valid_from: ownership of feature "
            "'Reports' overlaps row 1 (valid_to 2026-05-01, this row valid_from 2026-04-01)",
        ),
        (
            FEATURES_DATED + "SEARCH,ae,,,\n",
            "feature_ownership.csv, row 3 (line 4), column valid_from: ownership of feature "
            "'search' overlaps row 4 (valid_to open, this row valid_from 2026-01-01)",
        ),
        (
            FEATURES_DATED.replace("Reports,ae,2026-04-01,,2025-06-01", "Reports,ae,2026-04-01,,"),
            "feature_ownership.csv, row 2 (line 3), column released_on: feature 'Reports' has "
            "released_on empty here but 2025-06-01 on row 1; every row of one feature carries "
            "the same released_on",
        ),
        (
            FEATURES_DATED.replace(",2026-04-01,,2025-06-01", ",2026-04-01,,2025-07-01"),
            "feature_ownership.csv, row 2 (line 3), column released_on: feature 'Reports' has "
            "released_on 2025-07-01 here but "
            "2025-06-01 on row 1",
        ),
        (
            FEATURES_DATED.replace("search,prod,2026-01-01,,", "search,prod,2026-13-01,,"),
            "feature_ownership.csv, row 3 (line 4), column valid_from: '2026-13-01' is not a "
            "valid date (YYYY-MM-DD)",
        ),
        (
            FEATURES_DATED.replace(
                "search,prod,2026-01-01,,", "search,prod,2026-01-01,01/02/2026,"
            ),
            "feature_ownership.csv, row 3 (line 4), column valid_to: '01/02/2026' is not a valid "
            "date",
        ),
        (
            FEATURES_DATED.replace("search,prod,2026-01-01,,", "search,prod,2026-01-01,,soon"),
            "feature_ownership.csv, row 3 (line 4), column released_on: 'soon' is not a valid date",
        ),
        (
            FEATURES_DATED.replace(
                "search,prod,2026-01-01,,", "search,prod,2026-01-01,2026-01-01,"
            ),
            "feature_ownership.csv, row 3 (line 4), column valid_to: valid_to 2026-01-01 must be "
            "after valid_from 2026-01-01",
        ),
        (
            FEATURES_DATED.replace("search,prod,", "search,ghost,"),
            "feature_ownership.csv, row 3 (line 4), column team_id: unknown team 'ghost'",
        ),
        (
            FEATURES + "REPORTS,ae\n",
            "feature_ownership.csv, row 2 (line 3), column feature: duplicate feature 'REPORTS' "
            "(first on row 1): two rows of one feature may not overlap in time",
        ),
    ],
)
def test_feature_ownership_errors_name_file_row_and_column(tmp_path, text, expected):
    errs = errors_of(tmp_path, feature_ownership__csv=text)
    assert any(e.startswith(expected) for e in errs), errs
