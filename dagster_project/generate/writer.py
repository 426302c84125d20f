"""Writing the generated tree: CSV with a fixed dialect, gzip with mtime 0 (byte-stable)."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path


def write_csv(path: Path, columns: list[str], rows: list[list[str]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    w.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue().encode("utf-8"))


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))


def write_jsonl_gz(path: Path, lines: list[str]) -> None:
    """One message per line; gzip without file name or timestamp, so bytes repeat exactly."""
    data = ("\n".join(lines) + "\n").encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, compresslevel=6, mtime=0))
