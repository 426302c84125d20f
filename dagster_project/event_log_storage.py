"""Run history (Dagster's event log) in SQLite files, with their connections kept open.

Dagster's :class:`SqliteEventLogStorage` (per-run files ``<run_id>.db`` beside an
``index.db``) builds a new SQLAlchemy engine, opens a SQLite connection, and disposes of both
for every statement it runs. Each event of a run costs several of them (the run's file, and the
index for asset materialisations and check results), and a sample run writes about 1,200
events: about 10 s of a 52 s run went to opening and closing connections (storing a sample
run's 1,210 events again took 9.5-11.7 s, and 2.5-4.0 s with this class). It also remembers
which tables the index has (Dagster looks them up before nearly every asset event).

:class:`PooledSqliteEventLogStorage` is the same storage (same files, same tables, same
locking) with one engine per file, kept open while the process lives: the last
:data:`OPEN_FILES` files used, so a long-lived webserver that reads many runs' files does not
keep one open per run. The files stay in WAL mode (Dagster sets it), so another process
(``dg dev``'s daemon, the webserver) reads and writes them as before; every use still holds the
storage's lock, as Dagster's ``_connect`` does. Its connections commit without waiting for the
disk (``synchronous=NORMAL``, see :func:`_commit_without_fsync`).

``<home>/dagster/dagster.yaml`` selects it (``dagster_project/dev.py``). It overrides
``_connect``, a private method of dagster 1.13 (pinned in ``uv.lock``):
``tests/test_event_log_storage.py`` checks that a run stored through it reads back the same.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

# How many SQLite files keep an open engine: the index and the current run's file, with room
# for the webserver reading a few runs at once.
OPEN_FILES = 8


def _commit_without_fsync(dbapi_connection: Any, _record: Any) -> None:
    """``synchronous=NORMAL`` on each connection this storage opens: in WAL mode a commit
    then writes the log without waiting for the disk (``fsync``), which happens at the next
    checkpoint instead. The file can never be corrupted this way; a power cut (not a crash of
    the process) may lose the last events written before it, and the run then shows as not
    finished. Storing a sample run's 1,210 events: 2.5-2.8 s with Dagster's ``FULL``,
    1.8-1.9 s with ``NORMAL``."""
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """:class:`SqliteEventLogStorage` with one open engine per SQLite file (see the module)."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        # Set before the parent's __init__, which already connects (to create the index).
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_lock = threading.Lock()
        self._tables_present: set[str] = set()
        super().__init__(base_dir, inst_data=inst_data)

    def has_table(self, table_name: str) -> bool:
        """Whether the index has ``table_name``; a table found once is not looked up again.

        Dagster asks before nearly every asset event and check result (``supports_asset_checks``
        and others: 640 times in a sample run), each time through a new engine and connection
        (1.8 s of a profiled sample run). A table, once there, stays until :meth:`wipe`; a
        missing one is looked up again each time, as Dagster does, so a migration run by another
        process is seen."""
        if table_name in self._tables_present:
            return True
        present = super().has_table(table_name)
        if present:
            self._tables_present.add(table_name)
        return present

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Any
    ) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        with self._engines_lock:
            engine = self._engines.get(shard)
            if engine is not None:
                self._engines.move_to_end(shard)
                return engine
            engine = create_engine(
                self.conn_string_for_shard(shard),
                pool_size=1,
                # Used under the storage's lock, from whichever thread holds it.
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            event.listen(engine, "connect", _commit_without_fsync)
            self._engines[shard] = engine
            while len(self._engines) > OPEN_FILES:
                _, oldest = self._engines.popitem(last=False)
                oldest.dispose()
            return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def close_files(self) -> None:
        """Close every open SQLite file (before they are deleted, and at dispose)."""
        with self._engines_lock:
            while self._engines:
                _, engine = self._engines.popitem()
                engine.dispose()

    def wipe(self) -> None:
        self.close_files()
        self._tables_present.clear()
        super().wipe()

    def dispose(self) -> None:
        self.close_files()
        super().dispose()
