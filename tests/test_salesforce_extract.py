"""Salesforce extractor against a fake org on 127.0.0.1 (tests/fakes/salesforce.py)."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from dagster_project.ingest.crm import load_crm
from dagster_project.ingest.schema import (
    CRM_OBJECTS,
    DEFAULT_PROMISE_FIELD,
    create_empty_tables,
    match_key,
)
from dagster_project.sources.salesforce import (
    SalesforceClient,
    SalesforceExtractError,
    api_name,
    extract_salesforce,
    load_state,
)
from dagster_project.sources.source_config import SourceConfigError, load_sources_config
from tests.fakes.salesforce import FakeSalesforce

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _fields() -> dict[str, list[str]]:
    """Describe fields of a typical org: every contract field (Opportunity.Type included) and
    the promise field Promised_Features__c, but (as in real orgs) no IsDeleted on User and
    DatedConversionRate, and no OpportunitySplit objects at all."""
    out = {}
    for obj, (_, req, opt) in CRM_OBJECTS.items():
        names = [api_name(c) for c in (*req, *opt)]
        if obj in ("User", "DatedConversionRate"):
            names.remove("IsDeleted")
        out[obj] = names + ["LastModifiedDate"]
    out["Opportunity"].append("Promised_Features__c")
    del out["OpportunitySplit"], out["OpportunitySplitType"]
    return out


# Opportunity Type and promised features (a multi-select picklist: ';'-separated) per record.
_OPP_TYPES = {1: "New Business", 2: "Renewal", 3: None}
_OPP_PROMISES = {1: "Audit Log;Mobile App", 2: None, 3: "SSO"}


def _rec(i: int, stamp: str, **kw) -> dict:
    return {"Id": f"{i:03d}", "SystemModstamp": stamp, "IsDeleted": False, **kw}


def _records() -> dict[str, list[dict]]:
    t0 = "2026-11-01T10:00:00.000+0000"
    return {
        "User": [
            {
                "Id": "005A",
                "Name": "Ada",
                "Email": "ada@x.io",
                "IsActive": True,
                "SystemModstamp": t0,
            }
        ],
        "Account": [
            _rec(i, t0, Name=f"Acme {i}", CreatedDate="2026-01-01T00:00:00.000+0000")
            for i in range(1, 6)
        ],
        "Opportunity": [
            _rec(
                i,
                # 003 changed well before the others: outside the incremental overlap.
                "2026-11-01T07:00:00.000+0000" if i == 3 else t0,
                AccountId="001",
                OwnerId="005A",
                Amount=1000.5 * i,
                CloseDate="2026-10-15",
                StageName="Closed Won",
                IsClosed=True,
                IsWon=True,
                CreatedDate="2026-09-01T00:00:00.000+0000",
                CurrencyIsoCode="USD",
                Type=_OPP_TYPES[i],
                Promised_Features__c=_OPP_PROMISES[i],
            )
            for i in range(1, 4)
        ],
        "OpportunityTeamMember": [],
        "Event": [],
        "Task": [],
        "DatedConversionRate": [],
        "CurrencyType": [
            {
                "Id": "CT1",
                "IsoCode": "USD",
                "ConversionRate": 1,
                "IsCorporate": True,
                "IsActive": True,
                "IsDeleted": False,
                "SystemModstamp": t0,
            }
        ],
    }


@pytest.fixture
def org():
    fake = FakeSalesforce(_fields(), _records()).start()
    yield fake
    fake.stop()


def _env(org: FakeSalesforce, **extra) -> dict[str, str]:
    env = {
        "SALESFORCE_USERNAME": org.username,
        "SALESFORCE_PASSWORD": org.password,
        "SALESFORCE_SECURITY_TOKEN": org.security_token,
        "SALESFORCE_LOGIN_URL": org.url,
        "SALESFORCE_BACKOFF_SECONDS": "0.01",
    }
    env.update(extra)
    return env


def _cfg(org: FakeSalesforce, tmp_path: Path | None = None, **extra):
    cfg = load_sources_config(tmp_path, env=_env(org, **extra)).salesforce
    assert cfg is not None
    return cfg


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_full_then_incremental_extract(org, tmp_path):
    landing, home = tmp_path / "landing", tmp_path / "home"
    res = extract_salesforce(_cfg(org), landing, home, now=NOW)

    # Full first extract: one file per object the org has, API names as header.
    opp = landing / "crm" / "Opportunity" / "sf-20261124T120000.000000Z.csv"
    assert opp.is_file()
    rows = _read(opp)
    assert [r["Id"] for r in rows] == ["001", "002", "003"]
    assert rows[0]["IsWon"] == "true" and rows[0]["Amount"] == "1000.5"
    assert [(r["Type"], r["Promised_Features__c"]) for r in rows] == [
        ("New Business", "Audit Log;Mobile App"),
        ("Renewal", ""),
        ("", "SSO"),
    ]
    assert "LastModifiedDate" not in rows[0]  # only the contract's fields
    user_header = list(_read(landing / "crm" / "User" / opp.name)[0])
    assert "IsDeleted" not in user_header and "Email" in user_header
    assert res.objects["Opportunity"].mode == "full"
    assert res.objects["OpportunitySplit"].mode == "skipped"
    assert any("OpportunitySplit: skipped" in n for n in res.notes)
    assert any("User: the org has no IsDeleted" in n for n in res.notes)
    # Empty optional objects still get a (header-only) file on the full extract.
    assert _read(landing / "crm" / "Task" / opp.name) == []
    # queryAll was used, with no filter on the first run.
    queries = [p for _, p in org.requests if "/queryAll/" in p and "Opportunity" in p]
    assert queries and "WHERE" not in queries[0]
    assert not any("/query/" in p for _, p in org.requests)
    state = load_state(home)
    assert state["objects"]["Opportunity"]["watermark"] == "2026-11-01T10:00:00+00:00"
    assert org.password not in json.dumps(state)

    # Changes: one opportunity updated, one deleted (queryAll returns it, IsDeleted=true),
    # one new; everything else untouched.
    t1 = "2026-11-20T09:30:00.000+0000"
    opps = org.records["Opportunity"]
    opps[0].update(Amount=5000, SystemModstamp=t1)
    opps[1].update(IsDeleted=True, SystemModstamp=t1)
    opps.append({**opps[2], "Id": "004", "SystemModstamp": t1})
    later = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    res2 = extract_salesforce(_cfg(org), landing, home, now=later)
    assert res2.objects["Opportunity"].mode == "incremental"
    rows2 = _read(landing / "crm" / "Opportunity" / "sf-20261125T120000.000000Z.csv")
    assert {r["Id"]: (r["Amount"], r["IsDeleted"]) for r in rows2} == {
        "001": ("5000", "false"),
        "002": ("2001.0", "true"),
        "004": ("3001.5", "false"),
    }
    assert res2.objects["Opportunity"].deleted_rows == 1
    # Incremental query with the 5-minute overlap; unchanged objects write no file.
    q = [p for _, p in org.requests if "/queryAll/" in p and "FROM+Opportunity+WHERE" in p][-1]
    assert "SystemModstamp+%3E%3D+2026-11-01T09%3A55%3A00Z" in q
    assert res2.objects["Account"].file is None
    assert len(list((landing / "crm" / "Account").glob("*.csv"))) == 1
    assert load_state(home)["objects"]["Opportunity"]["watermark"] == "2026-11-20T09:30:00+00:00"

    # The extracted files load through the CRM loader: current state resolves the delete.
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    create_empty_tables(conn)
    stats = load_crm(conn, landing)
    assert stats["Opportunity"].files_loaded == 2
    current = conn.execute(
        "SELECT id, amount, is_deleted FROM raw.opportunity QUALIFY row_number() OVER "
        "(PARTITION BY id ORDER BY system_modstamp DESC, _source_file DESC) = 1 ORDER BY id"
    ).fetchall()
    assert current == [
        ("001", "5000", "false"),
        ("002", "2001.0", "true"),
        ("003", "3001.5", "false"),
        ("004", "3001.5", "false"),
    ]
    assert conn.execute("SELECT count(*) FROM raw.user").fetchone()[0] == 1
    conn.close()


def test_paging_follows_next_records_url(org, tmp_path):
    org.page_size = 2
    org.records["Account"] = [
        _rec(i, f"2026-11-0{1 + i % 5}T10:00:00.000+0000", Name=f"A{i}") for i in range(7)
    ]
    res = extract_salesforce(
        _cfg(org, SALESFORCE_OBJECTS="User,Account,Opportunity"),
        tmp_path / "l",
        tmp_path / "h",
        now=NOW,
    )
    assert res.objects["Account"].rows == 7
    assert len(_read(tmp_path / "l" / res.objects["Account"].file)) == 7
    more = [p for _, p in org.requests if "/queryAll/01gFAKE" in p]
    assert len(more) >= 3  # Account: 4 pages (2+2+2+1); Opportunity: 2 pages
    assert res.objects["Account"].watermark == "2026-11-05T10:00:00+00:00"
    assert set(res.objects) == {"User", "Account", "Opportunity"}


def test_expired_session_is_renewed_once(org, tmp_path):
    cfg = _cfg(org)
    client = SalesforceClient(cfg)
    client.login()
    org.expire_sessions()
    res = extract_salesforce(cfg, tmp_path / "l", tmp_path / "h", now=NOW, client=client)
    assert res.objects["Opportunity"].rows == 3
    assert org.logins == 2  # the first login, then one renewal
    assert client.logins == 2


def test_session_renewal_is_not_endless(org, tmp_path):
    for _ in range(3):
        org.fail_next(
            "/describe",
            401,
            [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
        )
    with pytest.raises(SalesforceExtractError, match="INVALID_SESSION_ID"):
        extract_salesforce(_cfg(org), tmp_path / "l", tmp_path / "h", now=NOW)


def test_rate_limits_and_server_errors_are_retried(org, tmp_path):
    org.fail_next(
        "/queryAll/",
        403,
        [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
    )
    org.fail_next(
        "/queryAll/",
        429,
        [{"message": "Too many", "errorCode": "REQUEST_LIMIT"}],
        {"Retry-After": "0"},
    )
    org.fail_next("/describe", 503, "Service Unavailable")
    sleeps: list[float] = []
    client = SalesforceClient(_cfg(org), sleep=sleeps.append)
    res = extract_salesforce(_cfg(org), tmp_path / "l", tmp_path / "h", now=NOW, client=client)
    assert res.objects["Opportunity"].rows == 3
    assert res.retries == 3 and len(sleeps) == 3
    assert sleeps[0] == pytest.approx(0.01)  # backoff grows per attempt of one request


def test_rate_limit_gives_up_with_a_clear_error(org, tmp_path):
    for _ in range(10):
        org.fail_next(
            "/queryAll/",
            403,
            [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
        )
    client = SalesforceClient(_cfg(org, SALESFORCE_MAX_RETRIES="2"), sleep=lambda s: None)
    with pytest.raises(SalesforceExtractError, match="API limit reached while extracting User"):
        extract_salesforce(client.config, tmp_path / "l", tmp_path / "h", now=NOW, client=client)
    # Nothing half-written, no watermark.
    assert not list((tmp_path / "l").rglob("*.csv")) and not list((tmp_path / "l").rglob(".*"))
    assert load_state(tmp_path / "h")["objects"] == {}


def test_bad_credentials(org, tmp_path):
    with pytest.raises(SalesforceExtractError) as e:
        extract_salesforce(
            _cfg(org, SALESFORCE_PASSWORD="wrong"), tmp_path / "l", tmp_path / "h", now=NOW
        )
    msg = str(e.value)
    assert "login failed" in msg and "INVALID_LOGIN" in msg and "SALESFORCE_SECURITY_TOKEN" in msg
    assert "wrong" not in msg and org.security_token not in msg


def test_oauth_client_credentials(org, tmp_path):
    env = {
        "SALESFORCE_CLIENT_ID": org.client_id,
        "SALESFORCE_CLIENT_SECRET": org.client_secret,
        "SALESFORCE_INSTANCE_URL": org.url,
        "SALESFORCE_BACKOFF_SECONDS": "0.01",
    }
    cfg = load_sources_config(None, env=env).salesforce
    assert cfg.auth == "client_credentials"
    assert org.client_secret not in repr(cfg)
    res = extract_salesforce(cfg, tmp_path / "l", tmp_path / "h", now=NOW)
    assert res.objects["User"].rows == 1
    bad = load_sources_config(None, env={**env, "SALESFORCE_CLIENT_SECRET": "nope"}).salesforce
    with pytest.raises(SalesforceExtractError, match="invalid_client"):
        extract_salesforce(bad, tmp_path / "l", tmp_path / "h", now=NOW)


def test_missing_object_permission(org, tmp_path):
    org.forbidden.add("Opportunity")
    with pytest.raises(SalesforceExtractError, match=r"Opportunity: permission denied.*Read"):
        extract_salesforce(_cfg(org), tmp_path / "l", tmp_path / "h", now=NOW)
    # A required object the user cannot see at all (describe 404).
    org.forbidden.clear()
    del org.fields["Account"]
    with pytest.raises(SalesforceExtractError, match="Read permission on Account"):
        extract_salesforce(_cfg(org), tmp_path / "l2", tmp_path / "h2", now=NOW)


def test_missing_field_is_named(org, tmp_path):
    org.fields["Opportunity"].remove("StageName")
    org.fields["Task"].remove("WhatId")
    with pytest.raises(SalesforceExtractError) as e:
        extract_salesforce(_cfg(org), tmp_path / "l", tmp_path / "h", now=NOW)
    assert "Opportunity.StageName is missing" in str(e.value)
    assert "Task.WhatId is missing" in str(e.value)  # every problem at once
    assert not (tmp_path / "l").exists() or not list((tmp_path / "l").rglob("*.csv"))


def test_field_rejected_by_query_is_named(org, tmp_path, monkeypatch):
    # The describe lists the field but the query refuses it (a race, or FLS): named too.
    real = org._query

    def drop_amount(h, endpoint, q):
        org.fields["Opportunity"] = [f for f in org.fields["Opportunity"] if f != "Amount"]
        return real(h, endpoint, q)

    monkeypatch.setattr(org, "_query", drop_amount)
    with pytest.raises(SalesforceExtractError, match=r"Opportunity\.Amount is missing"):
        extract_salesforce(_cfg(org), tmp_path / "l", tmp_path / "h", now=NOW)


def test_config_from_sources_yml_and_env(tmp_path):
    (tmp_path / "sources.yml").write_text(
        "salesforce:\n  enabled: true\n  domain: test\n  overlap_minutes: 10\n"
        "product_usage:\n  url: s3://events/segment/\n"
    )
    env = {"SALESFORCE_USERNAME": "u", "SALESFORCE_PASSWORD": "p", "SALESFORCE_SECURITY_TOKEN": ""}
    cfg = load_sources_config(tmp_path, env=env)
    assert cfg.salesforce.domain == "test" and cfg.salesforce.overlap_minutes == 10
    assert cfg.salesforce.describe()["endpoint"] == "https://test.salesforce.com"
    assert cfg.product_usage.url == "s3://events/segment/"
    # Nothing configured: both off (the file-drop folder is the default).
    empty = load_sources_config(tmp_path / "nowhere", env={})
    assert empty.salesforce is None and empty.product_usage.url is None
    # Explicitly enabled without credentials: a clear error.
    with pytest.raises(SourceConfigError, match="SALESFORCE_PASSWORD"):
        load_sources_config(tmp_path, env={"SALESFORCE_USERNAME": "u"})
    (tmp_path / "sources.yml").write_text("salesforce:\n  password: x\n")
    with pytest.raises(SourceConfigError, match="environment variables only"):
        load_sources_config(tmp_path, env={})


def test_failure_mid_object_keeps_finished_objects_and_no_partial_file(org, tmp_path):
    org.page_size = 2
    org.records["Account"] = [_rec(i, "2026-11-02T10:00:00.000+0000", Name="A") for i in range(5)]
    org.fail_next(
        "/queryAll/01gFAKE",
        400,
        [{"errorCode": "INVALID_QUERY_LOCATOR", "message": "invalid query locator"}],
    )
    cfg = _cfg(org, SALESFORCE_OBJECTS="User,Account,Opportunity")
    with pytest.raises(SalesforceExtractError, match="while extracting Account"):
        extract_salesforce(cfg, tmp_path / "l", tmp_path / "h", now=NOW)
    assert [p.parent.name for p in (tmp_path / "l").rglob("*.csv")] == ["User"]
    assert not [p for p in (tmp_path / "l").rglob("*") if p.name.startswith(".")]
    assert set(load_state(tmp_path / "h")["objects"]) == {"User"}
    # The next run finishes the job: User incremental (nothing new), Account/Opportunity full.
    res = extract_salesforce(cfg, tmp_path / "l", tmp_path / "h", now=NOW)
    assert res.objects["User"].file is None
    assert res.objects["Account"].mode == "full" and res.objects["Account"].rows == 5


def _opportunity_file(landing: Path, now: datetime = NOW) -> Path:
    return landing / "crm" / "Opportunity" / f"sf-{now.strftime('%Y%m%dT%H%M%S.%f')}Z.csv"


def test_type_and_promise_field_are_extracted_and_load(org, tmp_path):
    """Opportunity.Type and the promise field (settings.promise_field, default
    Promised_Features__c) are queried when the describe lists them, and land in
    raw.opportunity.type and raw.opportunity.promised_features."""
    landing = tmp_path / "landing"
    res = extract_salesforce(_cfg(org), landing, tmp_path / "home", now=NOW)
    assert {"Type", "Promised_Features__c"} <= set(res.objects["Opportunity"].fields)
    query = next(p for _, p in org.requests if "/queryAll/" in p and "FROM+Opportunity" in p)
    assert "Type" in query and "Promised_Features__c" in query
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    create_empty_tables(conn)
    load_crm(conn, landing)
    assert conn.execute(
        "SELECT id, type, promised_features FROM raw.opportunity ORDER BY id"
    ).fetchall() == [
        ("001", "New Business", "Audit Log;Mobile App"),
        ("002", "Renewal", None),
        ("003", None, "SSO"),
    ]
    conn.close()


def test_promise_field_named_in_settings_is_extracted(org, tmp_path):
    """promise_field of <config>/settings.yml decides which field is queried (matched to the
    org's spelling ignoring case and underscores); changing it extracts Opportunity in full."""
    config, landing, home = tmp_path / "config", tmp_path / "landing", tmp_path / "home"
    config.mkdir()
    org.fields["Opportunity"].append("Deal_Promises__c")
    for rec in org.records["Opportunity"]:
        rec["Deal_Promises__c"] = f"Feature {rec['Id']}"
    extract_salesforce(_cfg(org, config), landing, home, now=NOW)
    (config / "settings.yml").write_text("promise_field: deal_promises__C\n", encoding="utf-8")
    cfg = _cfg(org, config)
    assert cfg.promise_field == "deal_promises__C"
    later = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    res = extract_salesforce(cfg, landing, home, now=later)
    opp = res.objects["Opportunity"]
    assert opp.mode == "full" and "Deal_Promises__c" in opp.fields
    assert "Promised_Features__c" not in opp.fields
    assert any("Opportunity: the fields extracted changed" in n for n in res.notes)
    rows = _read(_opportunity_file(landing, later))
    assert [r["Deal_Promises__c"] for r in rows] == ["Feature 001", "Feature 002", "Feature 003"]


def test_org_without_type_or_promise_field(org, tmp_path):
    """Both are optional: an org without them is extracted without them, with a note."""
    org.fields["Opportunity"] = [
        f for f in org.fields["Opportunity"] if f not in ("Type", "Promised_Features__c")
    ]
    res = extract_salesforce(_cfg(org), tmp_path / "l", tmp_path / "h", now=NOW)
    fields = res.objects["Opportunity"].fields
    assert "Type" not in fields and "Promised_Features__c" not in fields
    note = next(n for n in res.notes if n.startswith("Opportunity: the org has no"))
    assert "Type" in note and "Promised_Features__c (settings.yml promise_field)" in note
    assert res.objects["Opportunity"].rows == 3


def test_dagster_asset_extracts_without_leaking_secrets(org, tmp_path, monkeypatch):
    import dagster as dg

    from dagster_project.defs.extract.salesforce import SALESFORCE_KEY, salesforce_crm
    from dagster_project.resources import QuotaboardPaths

    for k, v in _env(org).items():
        monkeypatch.setenv(k, v)
    (tmp_path / "config").mkdir()
    paths = QuotaboardPaths(
        landing_dir=str(tmp_path / "landing"),
        config_dir=str(tmp_path / "config"),
        home_dir=str(tmp_path / "home"),
    )
    mat = salesforce_crm(dg.build_asset_context(), paths=paths)
    assert SALESFORCE_KEY.path == ["landing", "salesforce_crm"]
    assert mat.metadata["status"] == "extracted"
    assert mat.metadata["files_written"] == 8
    text = repr(mat.metadata)
    assert org.password not in text and org.security_token not in text
    assert (tmp_path / "landing" / "crm" / "Opportunity").is_dir()


# -- end to end: extracted files through the normal pipeline ---------------------------------
def _sample_org_records(crm_dir: Path) -> tuple[dict[str, list[str]], dict[str, list[dict]]]:
    """The sample's CRM objects as an org holds them: each record's current version (greatest
    SystemModstamp; a tie goes to the later file), deleted ones included (queryAll sees them),
    values as the landing files spell them, fields under their API names."""
    fields: dict[str, list[str]] = {}
    records: dict[str, list[dict]] = {}
    entries = {match_key(p.stem if p.is_file() else p.name): p for p in crm_dir.iterdir()}
    for obj, (_, required, optional) in CRM_OBJECTS.items():
        columns = [*required, *optional]
        by_key = {match_key(c): api_name(c) for c in columns}
        if obj == "Opportunity":  # the promise field, as the default settings name it
            by_key[match_key(DEFAULT_PROMISE_FIELD)] = DEFAULT_PROMISE_FIELD
        fields[obj] = list(by_key.values())
        entry = entries.get(match_key(obj))
        files = [] if entry is None else [entry] if entry.is_file() else sorted(entry.glob("*.csv"))
        current: dict[str, tuple[str, dict]] = {}
        for path in files:
            for row in _read(path):
                rec = {by_key[match_key(k)]: v for k, v in row.items() if match_key(k) in by_key}
                stamp = rec.get("SystemModstamp", "")
                if rec.get("Id") and stamp >= current.get(rec["Id"], ("", {}))[0]:
                    current[rec["Id"]] = (stamp, rec)
        records[obj] = [rec for _, rec in current.values()]
    return fields, records


@pytest.mark.slow
def test_extracted_sample_flows_through_the_pipeline_and_publishes(
    sample_company, tmp_path, monkeypatch
):
    """An org holding the sample's CRM data: `quotaboard run` with credentials in the
    environment and no CRM files in the landing folder extracts every object, loads the files
    it wrote and publishes the same attainment as a run over the sample's own files."""
    import shutil

    from dagster_project import cli

    sample_landing, config = sample_company
    fields, records = _sample_org_records(sample_landing / "crm")
    fake = FakeSalesforce(fields, records).start()
    try:
        for k, v in _env(fake).items():
            monkeypatch.setenv(k, v)
        landing = tmp_path / "landing"
        landing.mkdir()
        shutil.copytree(sample_landing / "product_usage", landing / "product_usage")
        home = tmp_path / "home"
        code = cli.main(
            ["run", "--landing", str(landing), "--config", str(config), "--home", str(home),
             "--as-of", "2026-11-20"]
        )  # fmt: skip
    finally:
        fake.stop()
    assert code == 0
    assert (landing / "crm" / "Opportunity").is_dir()
    monkeypatch.delenv("SALESFORCE_USERNAME")
    reference = tmp_path / "reference"
    code = cli.main(
        ["run", "--landing", str(sample_landing), "--config", str(config), "--home",
         str(reference), "--as-of", "2026-11-20"]
    )  # fmt: skip
    assert code == 0

    def attainment(h: Path) -> list[tuple]:
        conn = duckdb.connect(str(h / "published" / "quotaboard.duckdb"), read_only=True)
        try:
            return conn.execute(
                "select assignee_type, assignee_id, fiscal_period, metric, round(target, 6), "
                "round(actual, 6) from marts.fct_quota_attainment order by all"
            ).fetchall()
        finally:
            conn.close()

    extracted, expected = attainment(home), attainment(reference)
    assert extracted and extracted == expected
