"""An object-storage event archive (``s3://bucket/prefix/``) mirrored into the landing folder.

The product-usage loader (``ingest.messages``) reads ``<landing>/product_usage/**`` from the
local disk. Rather than teach it to read a bucket (DuckDB's httpfs extension cannot be
installed everywhere, and the loader's manifest works on local size + mtime), this module
keeps a *mirror*: every ``*.jsonl``, ``*.jsonl.gz`` and ``*.parquet`` object under the prefix
is copied to ``<landing>/product_usage/s3/<bucket>/<key>``; the loader then picks the new
files up like any dropped file.

Incremental by key and ETag: ``<home>/state/product_usage.json`` records the ETag and size of
every object copied. A run lists the prefix (one ListObjectsV2 pass through s3fs), downloads
only keys that are new or whose ETag changed (or whose local copy disappeared), each to a
temporary file renamed into place, with the local mtime set to the object's LastModified.
Objects deleted from the bucket keep their local copy (the loader keeps their rows anyway:
see ``ingest.manifest``).

Credentials come from the standard AWS chain (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_PROFILE``, instance roles ...);
a custom endpoint (MinIO, moto, R2 ...) from ``QUOTABOARD_S3_ENDPOINT_URL`` or
``AWS_ENDPOINT_URL``. Nothing secret is logged or stored.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from dagster_project.atomic import atomic_path, write_text_atomic
from dagster_project.sources.source_config import ProductUsageConfig

log = logging.getLogger(__name__)

STATE_FILE = "product_usage.json"
MIRROR_DIR = "s3"  # under <landing>/product_usage/
_SUFFIXES = (".jsonl", ".jsonl.gz", ".parquet")
_SAVE_EVERY = 50


class ObjectStoreError(Exception):
    """The archive cannot be read (the message names the URL and what to check)."""


@dataclass
class SyncResult:
    url: str
    downloaded: list[str] = field(default_factory=list)  # keys
    unchanged: int = 0
    ignored: int = 0
    bytes_downloaded: int = 0
    notes: list[str] = field(default_factory=list)

    def as_metadata(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "objects_downloaded": len(self.downloaded),
            "objects_unchanged": self.unchanged,
            "objects_ignored": self.ignored,
            "bytes_downloaded": self.bytes_downloaded,
            "notes": self.notes,
        }


def split_url(url: str) -> tuple[str, str]:
    """``s3://bucket/a/b/`` -> (``bucket``, ``a/b/``)."""
    if not url.startswith("s3://"):
        raise ObjectStoreError(f"{url!r} is not an s3:// URL")
    bucket, _, prefix = url[len("s3://") :].partition("/")
    if not bucket:
        raise ObjectStoreError(f"{url!r} has no bucket")
    return bucket, prefix


def make_filesystem(config: ProductUsageConfig):
    """An s3fs filesystem for ``config`` (fresh instance, no listing cache)."""
    import s3fs

    kwargs: dict[str, Any] = {"skip_instance_cache": True, "use_listings_cache": False}
    if config.endpoint_url:
        kwargs["endpoint_url"] = config.endpoint_url
    return s3fs.S3FileSystem(**kwargs)


def state_path(home: Path) -> Path:
    return Path(home) / "state" / STATE_FILE


def _load_state(home: Path, url: str) -> dict[str, Any]:
    path = state_path(home)
    if not path.is_file():
        return {"url": url, "objects": {}}
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        log.warning("%s is not valid JSON: every object is checked again", path)
        return {"url": url, "objects": {}}
    if state.get("url") != url:
        return {"url": url, "objects": {}}
    state.setdefault("objects", {})
    return state


def _save_state(home: Path, state: dict[str, Any]) -> None:
    write_text_atomic(state_path(home), json.dumps(state, indent=2, sort_keys=True))


def _local_rel(bucket: str, key: str) -> str | None:
    """Path of the mirror copy relative to the landing folder; None for an unsafe key."""
    parts = PurePosixPath(key).parts
    if not parts or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        return None
    return "/".join(("product_usage", MIRROR_DIR, bucket, *parts))


def _mtime(info: dict[str, Any]) -> float | None:
    lm = info.get("LastModified")
    if isinstance(lm, datetime):
        return lm.timestamp()
    return None


def sync_archive(
    config: ProductUsageConfig, landing: Path | str, home: Path | str, fs=None
) -> SyncResult:
    """Mirror new and changed event files of ``config.url`` into the landing folder."""
    if not config.url:
        raise ObjectStoreError("no product_usage.url configured")
    landing, home = Path(landing), Path(home)
    bucket, prefix = split_url(config.url)
    fs = fs or make_filesystem(config)
    result = SyncResult(url=config.url)
    state = _load_state(home, config.url)
    known: dict[str, Any] = state["objects"]
    root = f"{bucket}/{prefix}".rstrip("/")
    try:
        listing = fs.find(root, detail=True)
    except FileNotFoundError:
        raise ObjectStoreError(
            f"{config.url}: bucket or prefix not found"
            + (f" at {config.endpoint_url}" if config.endpoint_url else "")
        ) from None
    except PermissionError as e:
        raise ObjectStoreError(
            f"{config.url}: access denied ({e}); check the AWS credentials and the bucket policy"
        ) from None
    except Exception as e:  # botocore / network errors: name them, not the credentials
        raise ObjectStoreError(
            f"{config.url}: cannot list objects ({type(e).__name__}: {e})"
        ) from None
    if not listing:
        result.notes.append(f"{config.url}: no objects under this prefix")
    pending = 0
    try:
        for name in sorted(listing):
            info = listing[name]
            if info.get("type", "file") != "file":
                continue
            key = name[len(bucket) + 1 :]
            if not key.lower().endswith(_SUFFIXES):
                result.ignored += 1
                continue
            rel = _local_rel(bucket, key)
            if rel is None:
                result.ignored += 1
                result.notes.append(f"ignored s3://{bucket}/{key}: unusable key for a file name")
                continue
            etag = str(info.get("ETag") or "").strip('"')
            size = int(info.get("size") or 0)
            local = landing / rel
            prev = known.get(key)
            if prev and prev.get("etag") == etag and prev.get("size") == size and local.is_file():
                result.unchanged += 1
                continue
            try:
                with atomic_path(local) as tmp:
                    fs.get_file(name, str(tmp))
                    mtime = _mtime(info)
                    if mtime is not None:
                        os.utime(tmp, (mtime, mtime))
            except Exception as e:
                raise ObjectStoreError(
                    f"s3://{bucket}/{key}: download failed ({type(e).__name__}: {e})"
                ) from None
            known[key] = {"etag": etag, "size": size, "local": rel}
            result.downloaded.append(key)
            result.bytes_downloaded += size
            pending += 1
            if pending >= _SAVE_EVERY:
                _save_state(home, state)
                pending = 0
    finally:
        _save_state(home, state)
    log.info(
        "%s: %d downloaded, %d unchanged", config.url, len(result.downloaded), result.unchanged
    )
    return result
