"""CRM landing files into raw.<object> (dagster_project.ingest.crm)."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from dagster_project.ingest.crm import load_crm
from dagster_project.ingest.files import LandingError
from dagster_project.ingest.schema import create_empty_tables

USER = "Id,Name,SystemModstamp,Email\nu1,Ann,2026-01-01T00:00:00Z,ann@x\nu2,Bob,2026-01-01,\n"
ACCOUNT = "Id,Name,SystemModstamp\na1,Acme,2026-01-01\n"
OPP_HEADER = (
    "Id,AccountId,OwnerId,Amount,CloseDate,StageName,IsClosed,IsWon,CreatedDate,SystemModstamp"
)
OPP = OPP_HEADER + "\no1,a1,u1,100,2026-02-01,Closed Won,true,true,2026-01-01,2026-02-01\n"


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    write(root / "crm" / "User.csv", USER)
    write(root / "crm" / "account.csv", ACCOUNT)
    write(root / "crm" / "Opportunity" / "2026-02-01.csv", OPP)
    return root


@pytest.fixture
def conn(tmp_path: Path):
    c = duckdb.connect(str(tmp_path / "wh.duckdb"))
    create_empty_tables(c)
    yield c
    c.close()


def rows(conn, sql: str):
    return conn.execute(sql).fetchall()


def test_loads_required_objects_with_lineage(conn, landing):
    stats = load_crm(conn, landing)
    assert stats["User"].files_loaded == 1
    assert stats["User"].rows_loaded == 2
    got = rows(
        conn,
        "select id, name, email, _source_file, _source_line from raw.user order by id",
    )
    assert got == [
        ("u1", "Ann", "ann@x", "crm/User.csv", 2),
        ("u2", "Bob", None, "crm/User.csv", 3),
    ]
    assert rows(conn, "select _source_file, is_won from raw.opportunity") == [
        ("crm/Opportunity/2026-02-01.csv", "true")
    ]
    # optional objects missing = empty tables
    assert rows(conn, "select count(*) from raw.opportunity_split") == [(0,)]
    assert rows(conn, "select count(*) from raw.user where _loaded_at is null") == [(0,)]


def test_name_matching_folder_and_headers(conn, landing):
    write(
        landing / "crm" / "opportunity_split" / "a.csv",
        "id,opportunity_id,split_owner_id,split_percentage,system_modstamp\ns1,o1,u1,60,t\n",
    )
    write(
        landing / "crm" / "opportunity_split" / "sub" / "b.csv",
        "ID,OPPORTUNITYID,SPLITOWNERID,SPLITPERCENTAGE,SYSTEMMODSTAMP\ns2,o1,u2,40,t\n",
    )
    write(landing / "crm" / "Lead.csv", "Id\nl1\n")  # unknown object: ignored
    stats = load_crm(conn, landing)
    assert stats["OpportunitySplit"].files_loaded == 2
    assert rows(
        conn,
        "select id, split_owner_id, _source_file from raw.opportunity_split order by id",
    ) == [
        ("s1", "u1", "crm/opportunity_split/a.csv"),
        ("s2", "u2", "crm/opportunity_split/sub/b.csv"),
    ]
    assert any("Lead.csv" in n for n in stats["User"].notes)


def test_extra_column_kept(conn, landing):
    write(landing / "crm" / "account.csv", "Id,Name,SystemModstamp,Industry__c\na1,Acme,t,Tech\n")
    load_crm(conn, landing)
    assert rows(conn, "select id, industry_c from raw.account") == [("a1", "Tech")]


def test_missing_required_column_rejects_file(conn, landing):
    write(landing / "crm" / "account.csv", "Id,SystemModstamp\na1,t\n")
    with pytest.raises(LandingError) as e:
        load_crm(conn, landing)
    assert "crm/account.csv" in str(e.value)
    assert "name" in str(e.value)
    # nothing written
    assert rows(conn, "select count(*) from raw.user") == [(0,)]
    assert rows(conn, "select count(*) from raw.load_manifest") == [(0,)]


def test_event_needs_an_activity_date(conn, landing):
    write(landing / "crm" / "Event.csv", "Id,WhatId,OwnerId,SystemModstamp\ne1,o1,u1,t\n")
    with pytest.raises(LandingError, match=r"crm/Event.csv.*activity_date"):
        load_crm(conn, landing)
    write(
        landing / "crm" / "Event.csv", "Id,WhatId,OwnerId,SystemModstamp,ActivityDate\ne,o,u,t,d\n"
    )
    load_crm(conn, landing)
    assert rows(conn, "select activity_date, activity_date_time from raw.event") == [("d", None)]


def test_missing_required_object_and_landing(tmp_path, conn):
    write(tmp_path / "l" / "crm" / "User.csv", USER)
    with pytest.raises(LandingError, match="Account") as e:
        load_crm(conn, tmp_path / "l")
    assert "Opportunity" in str(e.value)
    with pytest.raises(LandingError, match="does not exist"):
        load_crm(conn, tmp_path / "nope")


def test_malformed_lines_land_in_rejected_rows(conn, landing):
    body = (
        b"Id,Name,SystemModstamp\n"
        b"a1,Acme,t\n"  # line 2
        b"a2,too,many,fields\n"  # line 3: rejected
        b'a3,"multi\nline",t\n'  # lines 4-5: one record
        b"a4,\xff\xfe,t\n"  # invalid UTF-8: rejected
        b"a5,Fine,t\n"
    )
    write(landing / "crm" / "account.csv", body)
    stats = load_crm(conn, landing)
    assert stats["Account"].rows_rejected == 2
    assert rows(conn, "select id, name from raw.account order by id") == [
        ("a1", "Acme"),
        ("a3", "multi\nline"),
        ("a5", "Fine"),
    ]
    rej = rows(
        conn,
        "select object_name, _source_file, _source_line, raw_text, error "
        "from raw.rejected_rows order by _source_line",
    )
    assert [(r[0], r[1]) for r in rej] == [("Account", "crm/account.csv")] * 2
    assert rej[0][2] == 3 and rej[0][3] == "a2,too,many,fields"
    assert "TOO MANY COLUMNS" in rej[0][4]
    # a quoted line break: line numbers are record numbers + 1 from there on (documented)
    assert rej[1][2] == 5 and "ENCODING" in rej[1][4]


def test_line_numbers_skip_blank_lines_and_rejects(conn, landing):
    write(
        landing / "crm" / "account.csv",
        "Id,Name,SystemModstamp\na1,A,t\n\na2,B\na3,C,t\n\n",
    )
    load_crm(conn, landing)
    assert rows(conn, "select id, _source_line from raw.account order by id") == [
        ("a1", 2),
        ("a3", 5),
    ]
    assert rows(conn, "select _source_line from raw.rejected_rows") == [(4,)]


def test_a_repeated_header_line_loads_keeps_its_rows_and_is_one_note_per_file(conn, landing):
    row = "o{n},a1,u1,100,2026-02-01,Closed Won,true,true,2026-01-01,2026-02-01"
    shouted = ",".join(f" {h.upper()} " for h in OPP_HEADER.split(","))
    near_miss = "Id,AccountId,OwnerId,Amount,CloseDate,StageName,IsClosed,IsWon,CreatedDate,x"
    write(
        landing / "crm" / "Opportunity" / "2026-02-01.csv",
        "\n".join([OPP_HEADER, row.format(n=1), shouted, row.format(n=2), near_miss]) + "\n",
    )
    # joined by `cat`: the second file's byte order mark stays before its header
    joined = [OPP_HEADER, row.format(n=3), OPP_HEADER, "", "\ufeff" + OPP_HEADER, row.format(n=4)]
    write(landing / "crm" / "Opportunity" / "2026-02-02.csv", "\n".join(joined) + "\n")
    stats = load_crm(conn, landing)

    # every line is a row as before: the header lines' values are left to the invalid_value rule
    assert rows(
        conn,
        "select _source_file, _source_line, id, amount from raw.opportunity "
        "order by _source_file, _source_line",
    ) == [
        ("crm/Opportunity/2026-02-01.csv", 2, "o1", "100"),
        ("crm/Opportunity/2026-02-01.csv", 3, " ID ", " AMOUNT "),
        ("crm/Opportunity/2026-02-01.csv", 4, "o2", "100"),
        ("crm/Opportunity/2026-02-01.csv", 5, "Id", "Amount"),
        ("crm/Opportunity/2026-02-02.csv", 2, "o3", "100"),
        ("crm/Opportunity/2026-02-02.csv", 3, "Id", "Amount"),
        ("crm/Opportunity/2026-02-02.csv", 5, "\ufeffId", "Amount"),
        ("crm/Opportunity/2026-02-02.csv", 6, "o4", "100"),
    ]
    assert stats["Opportunity"].rows_loaded == 8
    assert rows(conn, "select count(*) from raw.rejected_rows") == [(0,)]
    # one note per file, naming its lines (line 5 of the first file has one field of its own)
    notes = [
        "crm/Opportunity/2026-02-01.csv: line 3 repeats the header (two files joined?); "
        "its values become invalid_value exceptions",
        "crm/Opportunity/2026-02-02.csv: lines 3, 5 repeat the header (two files joined?); "
        "their values become invalid_value exceptions",
    ]
    assert stats["Opportunity"].notes == notes
    assert stats["Opportunity"].warnings == notes
    assert all(not st.warnings for obj, st in stats.items() if obj != "Opportunity")


def test_a_repeated_header_is_one_warning_line_of_the_run(tmp_path, landing):
    import dagster as dg
    from test_config import make_config

    from dagster_project.defs.config import config_tables
    from dagster_project.defs.extract.crm import crm_raw_tables
    from dagster_project.resources import QuotaboardPaths
    from dagster_project.run_report import load_warnings

    write(landing / "crm" / "account.csv", ACCOUNT + "a2,Beta,2026-01-01\n" + ACCOUNT)
    paths = QuotaboardPaths(
        landing_dir=str(landing),
        config_dir=str(make_config(tmp_path / "config")),
        home_dir=str(tmp_path / "home"),
    )
    result = dg.materialize([config_tables, crm_raw_tables], resources={"paths": paths})
    note = (
        "crm/account.csv: line 4 repeats the header (two files joined?); its values become "
        "invalid_value exceptions"
    )
    assert load_warnings(result) == [note]
    mats = {
        m.materialization.asset_key.to_user_string(): m.materialization.metadata
        for m in result.get_asset_materialization_events()
    }
    assert mats["raw/account"]["warnings"].value == [note]
    assert "warnings" not in mats["raw/opportunity"]


def test_incremental_loading(conn, landing):
    first = load_crm(conn, landing)
    assert sum(s.files_loaded for s in first.values()) == 3
    snapshot = rows(conn, "select * from raw.user order by id")
    manifest = rows(conn, "select * from raw.load_manifest order by source_file")

    second = load_crm(conn, landing)  # nothing changed
    assert sum(s.files_loaded for s in second.values()) == 0
    assert sum(s.files_skipped for s in second.values()) == 3
    assert rows(conn, "select * from raw.user order by id") == snapshot
    assert rows(conn, "select * from raw.load_manifest order by source_file") == manifest

    # a new delta file is loaded, the old one skipped
    write(landing / "crm" / "Opportunity" / "2026-02-02.csv", OPP.replace("o1,", "o2,"))
    third = load_crm(conn, landing)
    assert third["Opportunity"].files_loaded == 1
    assert third["Opportunity"].files_skipped == 1
    assert rows(conn, "select id from raw.opportunity order by id") == [("o1",), ("o2",)]

    # a changed file replaces its old rows
    p = landing / "crm" / "User.csv"
    p.write_text("Id,Name,SystemModstamp\nu9,Zed,t\n", encoding="utf-8")
    os.utime(p, (1, 1))
    fourth = load_crm(conn, landing)
    assert fourth["User"].files_loaded == 1
    assert rows(conn, "select id, _source_line from raw.user") == [("u9", 2)]
    assert rows(
        conn, "select row_count from raw.load_manifest where source_file = 'crm/User.csv'"
    ) == [(1,)]

    # a file that disappeared keeps its rows
    (landing / "crm" / "Opportunity" / "2026-02-02.csv").unlink()
    load_crm(conn, landing)
    assert rows(conn, "select count(*) from raw.opportunity") == [(2,)]


def test_dagster_assets_materialize(tmp_path, landing):
    import dagster as dg
    from test_config import make_config

    from dagster_project.defs.config import config_tables
    from dagster_project.defs.extract.crm import crm_raw_tables
    from dagster_project.defs.extract.product_usage import raw_messages
    from dagster_project.resources import QuotaboardPaths

    msg = '{"messageId": "m1", "type": "track", "timestamp": "2026-03-01T00:00:00Z"}\nbad\n'
    write(landing / "product_usage" / "a.jsonl", msg)
    write(landing / "crm" / "Task.csv", "Id,WhatId,OwnerId,ActivityDate,SystemModstamp\nt1,o1\n")
    config_dir = make_config(tmp_path / "config", settings__yml="duckdb_memory_limit: 1GB\n")
    paths = QuotaboardPaths(
        landing_dir=str(landing), config_dir=str(config_dir), home_dir=str(tmp_path / "home")
    )
    assets = [config_tables, crm_raw_tables, raw_messages]
    result = dg.materialize(assets, resources={"paths": paths})
    assert result.success
    mats = {
        m.asset_key.to_user_string(): m.metadata
        for m in result.get_asset_materialization_events()
        for m in [m.materialization]
    }
    assert len(mats) == 7 + 11 + 1  # config tables, CRM objects + rejected rows, messages
    assert mats["config/people"]["rows"].value == 4
    assert mats["raw/user"]["rows_loaded"].value == 2
    assert mats["raw/rejected_rows"]["rows_total"].value == 1
    assert mats["raw/messages"]["rows_loaded"].value == 2
    assert mats["raw/messages"]["rows_rejected"].value == 1
    # the connection is closed: the file opens read-only right away
    with duckdb.connect(str(paths.warehouse_path), read_only=True) as c:
        assert c.execute("select count(*) from raw.opportunity").fetchone() == (1,)
        assert c.execute("select duckdb_memory_limit from config.settings").fetchone() == ("1GB",)

    again = dg.materialize(assets, resources={"paths": paths})
    mats = {
        m.materialization.asset_key.to_user_string(): m.materialization.metadata
        for m in again.get_asset_materialization_events()
    }
    assert mats["raw/user"]["files_loaded"].value == 0
    assert mats["raw/user"]["files_skipped"].value == 1
    assert mats["raw/messages"]["files_loaded"].value == 0

    # a configuration error fails the config step with the clear message; raw never runs
    bad = make_config(tmp_path / "bad", settings__yml="timezon: UTC\n")
    failed = dg.materialize(
        assets,
        resources={
            "paths": QuotaboardPaths(
                landing_dir=str(landing), config_dir=str(bad), home_dir=str(tmp_path / "home2")
            )
        },
        raise_on_error=False,
    )
    assert not failed.success
    failure = next(e for e in failed.all_events if e.event_type_value == "STEP_FAILURE")
    assert "settings.yml, line 1, key timezon: unknown setting" in str(
        failure.step_failure_data.error.message
    )
    assert not failed.get_asset_materialization_events()


def test_dagster_landing_error_is_a_clear_failure(tmp_path, landing):
    import dagster as dg
    from test_config import make_config

    from dagster_project.defs.config import config_tables
    from dagster_project.defs.extract.crm import crm_raw_tables
    from dagster_project.resources import QuotaboardPaths

    (landing / "crm" / "account.csv").unlink()
    paths = QuotaboardPaths(
        landing_dir=str(landing),
        config_dir=str(make_config(tmp_path / "config")),
        home_dir=str(tmp_path / "home"),
    )
    result = dg.materialize(
        [config_tables, crm_raw_tables], resources={"paths": paths}, raise_on_error=False
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "required object Account has no file" in failure.step_failure_data.error.message
    # the warehouse file is closed and holds no CRM rows
    with duckdb.connect(str(paths.warehouse_path), read_only=True) as c:
        assert c.execute("select count(*) from raw.user").fetchone() == (0,)


def test_two_headers_for_one_column_reject_the_file(conn, landing):
    write(landing / "crm" / "account.csv", "Id,Name,Is_Deleted,IsDeleted,SystemModstamp\n")
    with pytest.raises(LandingError, match=r"crm/account.csv, line 1: column 'IsDeleted'"):
        load_crm(conn, landing)


# -- the promise field (settings.promise_field) ---------------------------------------------


def opp_with(column: str, value: str, opp_id: str = "o1") -> str:
    return (
        f"{OPP_HEADER},{column}\n"
        f'{opp_id},a1,u1,100,2026-02-01,Closed Won,true,true,2026-01-01,2026-02-01,"{value}"\n'
    )


@pytest.mark.parametrize(
    "header", ["Promised_Features__c", "promised_features__c", "PROMISEDFEATURESC"]
)
def test_promise_field_lands_in_promised_features_whatever_its_spelling(conn, landing, header):
    write(landing / "crm" / "Opportunity" / "2026-02-01.csv", opp_with(header, "SSO; Audit Log"))
    load_crm(conn, landing)
    assert rows(conn, "select id, promised_features from raw.opportunity") == [
        ("o1", "SSO; Audit Log")
    ]


def test_promise_field_named_by_the_setting(conn, landing):
    """Another promise field: that column lands in promised_features; a column that is only
    called promised_features is an extra column under another name."""
    text = (
        f"{OPP_HEADER},Deal_Promises__c,promised_features\n"
        "o1,a1,u1,100,2026-02-01,Closed Won,true,true,2026-01-01,2026-02-01,SSO,not this\n"
    )
    write(landing / "crm" / "Opportunity" / "2026-02-01.csv", text)
    load_crm(conn, landing, promise_field="deal_promises__C")
    assert rows(conn, "select promised_features, x_promised_features from raw.opportunity") == [
        ("SSO", "not this")
    ]


def test_promise_field_defaults_to_config_settings(conn, landing):
    """Without an explicit field the loader reads config.settings, as the config step wrote
    it before the raw step runs."""
    from test_config import make_config

    from dagster_project.ingest.config import load_config, write_config

    cfg = make_config(landing.parent / "cfg", settings__yml="promise_field: Deal_Promises__c\n")
    write_config(conn, load_config(cfg))
    write(landing / "crm" / "Opportunity" / "2026-02-01.csv", opp_with("DealPromises__c", "SSO"))
    load_crm(conn, landing)
    assert rows(conn, "select promised_features from raw.opportunity") == [("SSO",)]


def test_changed_promise_field_reads_opportunity_files_again(conn, landing):
    text = (
        f"{OPP_HEADER},Promised_Features__c,Deal_Promises__c\n"
        "o1,a1,u1,100,2026-02-01,Closed Won,true,true,2026-01-01,2026-02-01,old,new\n"
    )
    write(landing / "crm" / "Opportunity" / "2026-02-01.csv", text)
    load_crm(conn, landing)
    assert rows(conn, "select promised_features from raw.opportunity") == [("old",)]
    assert rows(
        conn, "select read_options from raw.load_manifest where target_table = 'opportunity'"
    ) == [("promise_field=promisedfeaturesc",)]

    # Same field, spelled differently: nothing to read again.
    again = load_crm(conn, landing, promise_field="PROMISED_FEATURES__C")
    assert again["Opportunity"].files_loaded == 0

    # Another field: every Opportunity file is read again (other objects are not).
    changed = load_crm(conn, landing, promise_field="Deal_Promises__c")
    assert changed["Opportunity"].files_loaded == 1
    assert changed["User"].files_loaded == 0
    assert rows(conn, "select id, promised_features, promised_features_c from raw.opportunity") == [
        ("o1", "new", "old")
    ]
    assert rows(
        conn, "select read_options from raw.load_manifest where target_table = 'opportunity'"
    ) == [("promise_field=dealpromisesc",)]
    assert (
        load_crm(conn, landing, promise_field="Deal_Promises__c")["Opportunity"].files_loaded == 0
    )


def test_changed_promise_field_in_settings_reloads_through_the_assets(tmp_path, landing):
    import dagster as dg
    from test_config import make_config

    from dagster_project.defs.config import config_tables
    from dagster_project.defs.extract.crm import crm_raw_tables
    from dagster_project.resources import QuotaboardPaths

    text = (
        f"{OPP_HEADER},Promised_Features__c,Deal_Promises__c\n"
        "o1,a1,u1,100,2026-02-01,Closed Won,true,true,2026-01-01,2026-02-01,old,new\n"
    )
    write(landing / "crm" / "Opportunity" / "2026-02-01.csv", text)
    config_dir = make_config(tmp_path / "config")
    paths = QuotaboardPaths(
        landing_dir=str(landing), config_dir=str(config_dir), home_dir=str(tmp_path / "home")
    )

    def promised() -> list[tuple]:
        assert dg.materialize([config_tables, crm_raw_tables], resources={"paths": paths}).success
        with duckdb.connect(str(paths.warehouse_path), read_only=True) as c:
            return c.execute("select promised_features from raw.opportunity").fetchall()

    assert promised() == [("old",)]
    (config_dir / "settings.yml").write_text("promise_field: Deal_Promises__c\n")
    assert promised() == [("new",)]


def test_an_older_working_database_gains_the_new_columns(tmp_path, landing):
    """Tables created by an earlier version get the columns this one declares (NULL in old
    rows); Opportunity files loaded before the promise field existed are read again."""
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as c:
        c.execute("create schema raw; create schema config")
        c.execute(
            "create table raw.opportunity (id varchar, _source_file varchar, "
            "_source_line bigint, _loaded_at timestamp)"
        )
        c.execute(
            "create table raw.load_manifest (source_file varchar, target_table varchar, "
            "size_bytes bigint, modified_at double, row_count bigint, loaded_at timestamp)"
        )
        c.execute("create table config.feature_ownership (feature varchar, team_id varchar)")
        c.execute("insert into config.feature_ownership values ('reports', 'prod')")
    write(landing / "crm" / "Opportunity" / "2026-02-01.csv", opp_with("Promised_Features__c", "X"))
    with duckdb.connect(str(path)) as c:
        create_empty_tables(c)
        cols = {
            (t, col)
            for t, col in c.execute(
                "select table_name, column_name from information_schema.columns"
            ).fetchall()
        }
        assert {
            ("opportunity", "promised_features"),
            ("opportunity", "amount"),
            ("load_manifest", "read_options"),
            ("feature_ownership", "released_on"),
            ("feature_ownership", "release_tracked"),
            ("settings", "closed_through"),
            ("opportunity_types", "type_key"),
        } <= cols
        assert c.execute("select * from config.feature_ownership").fetchall() == [
            ("reports", "prod", None, None, None, None)
        ]
        stat = (landing / "crm" / "Opportunity" / "2026-02-01.csv").stat()
        c.execute(
            "insert into raw.load_manifest values "
            "('crm/Opportunity/2026-02-01.csv', 'opportunity', ?, ?, 1, now(), null)",
            [stat.st_size, stat.st_mtime],
        )
        assert load_crm(c, landing)["Opportunity"].files_loaded == 1
        assert c.execute("select promised_features from raw.opportunity").fetchall() == [("X",)]
