"""Named fault points: where a test may kill a run to prove it is crash-safe.

The code calls :func:`fault_point` at a few delicate places (inside the CRM load transaction,
inside the message load transaction, between two dbt models, halfway through publishing).
When the environment variable ``QUOTABOARD_FAULT`` names that point, the process is killed
at once with SIGKILL: no ``finally`` block, no ``atexit``, no rollback runs, exactly like an
out-of-memory kill or a power cut. When the variable is unset (always, in production) a fault
point does nothing.

If the killed process leads its own process group (a test starts ``quotaboard run`` with
``start_new_session=True``), the whole group is killed, so the dbt subprocess dies with its
parent as it would in a machine crash; otherwise only the process itself.
"""

from __future__ import annotations

import os
import signal

FAULT_ENV = "QUOTABOARD_FAULT"

# Every fault point the code defines (the tests kill a run at each of them).
CRM_LOAD = "crm_load"  # inside the CRM load transaction, after the first file's rows
MESSAGE_LOAD = "message_load"  # inside the message load transaction, after the rows
BETWEEN_DBT_MODELS = "between_dbt_models"  # after the first dbt model's result event
PUBLISH_HALFWAY = "publish_halfway"  # new DuckDB file written, Parquet half written
FAULT_POINTS = (CRM_LOAD, MESSAGE_LOAD, BETWEEN_DBT_MODELS, PUBLISH_HALFWAY)


def armed(name: str) -> bool:
    """True when ``QUOTABOARD_FAULT`` names this fault point."""
    return os.environ.get(FAULT_ENV, "").strip() == name


def fault_point(name: str) -> None:
    """Kill this process with SIGKILL when ``QUOTABOARD_FAULT`` names ``name``."""
    if not armed(name):
        return
    if os.getpgrp() == os.getpid():
        os.killpg(os.getpgrp(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)
