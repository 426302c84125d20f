"""Which failures are worth another attempt, and how the loaders retry them.

A run should not fail for good because a landing file was unreadable for a moment (being
copied, rotated, on a flaky network mount) or because another run held the working database.
Those are *transient*: the loader assets retry them with exponential backoff
(:data:`LOADER_RETRY_POLICY`). A bad configuration or a malformed file is *permanent*: the
assets raise ``dg.Failure(allow_retries=False)`` so no time is spent retrying it.

The run lock has its own backoff (``RunLockedPaths`` in ``definitions.py``): a step that finds
the lock held raises ``dg.RetryRequested`` and waits longer between attempts.
"""

from __future__ import annotations

import dagster as dg
import duckdb

LOADER_RETRY_POLICY = dg.RetryPolicy(
    max_retries=4,
    delay=2,  # seconds: attempts after about 2, 6, 14 and 30 s (+-2 s jitter)
    backoff=dg.Backoff.EXPONENTIAL,
    jitter=dg.Jitter.PLUS_MINUS,
)
"""Asset-level retries for the config, extract and raw loader assets."""


def is_transient(exc: BaseException | None) -> bool:
    """True when ``exc`` (or an exception it was raised ``from``) is an I/O error: the file
    system or DuckDB's file access failed (including another process's lock on the working
    database), not the content."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError | duckdb.IOException):
            return True
        exc = exc.__cause__
    return False
