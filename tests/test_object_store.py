"""Event archive on object storage (moto's S3 server on 127.0.0.1) mirrored into landing."""

from __future__ import annotations

import gzip
import json

import boto3
import dagster as dg
import duckdb
import pytest
from moto.server import ThreadedMotoServer

from dagster_project.defs.extract.salesforce import (
    PRODUCT_USAGE_ARCHIVE_KEY,
    SALESFORCE_KEY,
    product_usage_archive,
    salesforce_crm,
)
from dagster_project.ingest.messages import load_messages
from dagster_project.ingest.schema import create_empty_tables
from dagster_project.resources import QuotaboardPaths
from dagster_project.sources.object_store import ObjectStoreError, state_path, sync_archive
from dagster_project.sources.source_config import ProductUsageConfig, load_sources_config

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint, monkeypatch, request):
    for k, v in AWS_ENV.items():
        monkeypatch.setenv(k, v)
    for k in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(k, raising=False)
    name = "events-" + request.node.name.replace("_", "-")[:40].lower()
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket=name)
    return s3, name


def _msg(i: int, event: str = "Feature Used") -> str:
    return json.dumps(
        {
            "type": "track",
            "messageId": f"m{i}",
            "timestamp": "2026-11-01T10:00:00Z",
            "userId": "u1",
            "event": event,
            "context": {"groupId": "w1"},
        }
    )


def _put(s3, bucket: str, key: str, lines: list[str], gz: bool = False) -> None:
    body = ("\n".join(lines) + "\n").encode()
    s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress(body) if gz else body)


def _count(conn) -> int:
    return conn.execute("SELECT count(*) FROM raw.messages").fetchone()[0]


def test_events_are_mirrored_incrementally_by_key_and_etag(bucket, s3_endpoint, tmp_path):
    s3, name = bucket
    _put(s3, name, "segment/2026/11/01/a.jsonl", [_msg(1), _msg(2)])
    _put(s3, name, "segment/2026/11/01/b.jsonl.gz", [_msg(3)], gz=True)
    _put(s3, name, "segment/README.txt", ["not events"])
    _put(s3, name, "other/c.jsonl", [_msg(99)])  # outside the prefix
    cfg = ProductUsageConfig(url=f"s3://{name}/segment/", endpoint_url=s3_endpoint)
    landing, home = tmp_path / "landing", tmp_path / "home"

    first = sync_archive(cfg, landing, home)
    assert sorted(first.downloaded) == [
        "segment/2026/11/01/a.jsonl",
        "segment/2026/11/01/b.jsonl.gz",
    ]
    assert first.ignored == 1
    mirror = landing / "product_usage" / "s3" / name / "segment" / "2026" / "11" / "01"
    assert (mirror / "a.jsonl").read_text().count("\n") == 2
    assert not list(landing.rglob(".*"))  # no temporary files left
    state = json.loads(state_path(home).read_text())
    assert set(state["objects"]) == set(first.downloaded)
    assert "testing" not in state_path(home).read_text()

    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    create_empty_tables(conn)
    load_messages(conn, landing)
    assert _count(conn) == 3

    # Nothing changed: nothing is downloaded (and the loader skips the files).
    mtime = (mirror / "a.jsonl").stat().st_mtime
    second = sync_archive(cfg, landing, home)
    assert second.downloaded == [] and second.unchanged == 2
    assert (mirror / "a.jsonl").stat().st_mtime == mtime

    # A new object and a re-uploaded one (new ETag) are picked up; the rest is not re-read.
    _put(s3, name, "segment/2026/11/02/d.jsonl", [_msg(4), _msg(5)])
    _put(s3, name, "segment/2026/11/01/a.jsonl", [_msg(1), _msg(2), _msg(6)])
    third = sync_archive(cfg, landing, home)
    assert sorted(third.downloaded) == ["segment/2026/11/01/a.jsonl", "segment/2026/11/02/d.jsonl"]
    assert third.unchanged == 1
    stats = load_messages(conn, landing)
    assert stats.files_loaded == 2
    assert _count(conn) == 6
    conn.close()

    # A mirror file deleted locally is fetched again.
    (mirror / "b.jsonl.gz").unlink()
    assert sync_archive(cfg, landing, home).downloaded == ["segment/2026/11/01/b.jsonl.gz"]


def test_missing_bucket_is_a_clear_error(s3_endpoint, tmp_path, monkeypatch):
    for k, v in AWS_ENV.items():
        monkeypatch.setenv(k, v)
    cfg = ProductUsageConfig(url="s3://no-such-bucket/x/", endpoint_url=s3_endpoint)
    with pytest.raises(ObjectStoreError, match="no-such-bucket"):
        sync_archive(cfg, tmp_path / "l", tmp_path / "h")


def test_config_endpoint_from_env(tmp_path):
    env = {
        "QUOTABOARD_PRODUCT_USAGE_URL": "s3://b/p/",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }
    cfg = load_sources_config(tmp_path, env=env).product_usage
    assert cfg == ProductUsageConfig(url="s3://b/p/", endpoint_url="http://127.0.0.1:9")
    env["QUOTABOARD_S3_ENDPOINT_URL"] = "http://127.0.0.1:8"
    assert load_sources_config(tmp_path, env=env).product_usage.endpoint_url.endswith(":8")


def _materialize(paths: QuotaboardPaths):
    """Run both assets (direct invocation: no Dagster instance, fast)."""
    return {
        key: fn(dg.build_asset_context(), paths=paths).metadata
        for key, fn in (
            (SALESFORCE_KEY, salesforce_crm),
            (PRODUCT_USAGE_ARCHIVE_KEY, product_usage_archive),
        )
    }


def test_assets_do_nothing_when_not_configured(tmp_path, monkeypatch):
    for k in (
        "SALESFORCE_USERNAME",
        "SALESFORCE_CLIENT_ID",
        "SALESFORCE_ENABLED",
        "QUOTABOARD_PRODUCT_USAGE_URL",
    ):
        monkeypatch.delenv(k, raising=False)
    (tmp_path / "config").mkdir()
    paths = QuotaboardPaths(
        landing_dir=str(tmp_path / "landing"),
        config_dir=str(tmp_path / "config"),
        home_dir=str(tmp_path / "home"),
    )
    meta = _materialize(paths)
    assert meta[SALESFORCE_KEY]["status"] == "not configured"
    assert meta[PRODUCT_USAGE_ARCHIVE_KEY]["status"] == "not configured"
    assert not (tmp_path / "landing").exists()


def test_archive_asset_syncs_when_configured(bucket, s3_endpoint, tmp_path, monkeypatch):
    s3, name = bucket
    _put(s3, name, "events/a.jsonl", [_msg(1)])
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "sources.yml").write_text(
        f"product_usage:\n  url: s3://{name}/events/\n  endpoint_url: {s3_endpoint}\n"
    )
    monkeypatch.delenv("QUOTABOARD_PRODUCT_USAGE_URL", raising=False)
    monkeypatch.delenv("QUOTABOARD_S3_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("SALESFORCE_USERNAME", raising=False)
    monkeypatch.delenv("SALESFORCE_CLIENT_ID", raising=False)
    paths = QuotaboardPaths(
        landing_dir=str(tmp_path / "landing"),
        config_dir=str(tmp_path / "config"),
        home_dir=str(tmp_path / "home"),
    )
    meta = _materialize(paths)
    assert meta[PRODUCT_USAGE_ARCHIVE_KEY]["status"] == "synced"
    assert meta[PRODUCT_USAGE_ARCHIVE_KEY]["objects_downloaded"] == 1
    assert (tmp_path / "landing" / "product_usage" / "s3" / name / "events" / "a.jsonl").is_file()
