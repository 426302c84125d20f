"""Replace a file in one step: readers see the old file or the new one, never half of it.

Every helper writes to a temporary name in the destination's folder (``.<name>.<pid>.<token>
.tmp``: hidden, so no loader or sensor takes it for a landing file, and the same file system, so
the rename is atomic), flushes it to disk (``fsync``), renames it onto the destination
(``os.replace``) and syncs the folder so the rename itself survives a crash. When anything
fails before the rename, the temporary file is removed and the destination is untouched.

* :func:`write_text_atomic`, :func:`write_bytes_atomic`: content in memory.
* :func:`copy_file_atomic`: a copy of another file.
* :func:`atomic_path`: a context manager for files another library writes (an HTTP download,
  a CSV writer): it yields the temporary path; on leaving the block the file is committed if
  it exists (a block that decides to keep the old file deletes it), discarded on an error.

The publish of the marts has its own protocol (``dagster_project.publish``: a journal, then a
DuckDB file and a link renamed together); it does not use these helpers.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path


def temp_path_for(destination: Path) -> Path:
    """A fresh temporary name beside ``destination`` (hidden, ``.tmp``, unique per call)."""
    destination = Path(destination)
    token = secrets.token_hex(4)
    return destination.with_name(f".{destination.name}.{os.getpid()}.{token}.tmp")


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (best effort: not every file system allows it)."""
    with contextlib.suppress(OSError):
        fsync_file(folder)


def _commit(tmp: Path, destination: Path) -> None:
    fsync_file(tmp)
    os.replace(tmp, destination)
    fsync_dir(destination.parent)


@contextlib.contextmanager
def atomic_path(destination: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside ``destination`` (its folder is created) for the block to
    write; then fsync it and rename it onto ``destination``. If the block leaves no file there,
    nothing is renamed (the destination stays as it was); if it raises, the temporary file is
    removed and the destination is untouched."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(destination)
    try:
        yield tmp
        if os.path.lexists(tmp):
            _commit(tmp, destination)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def write_bytes_atomic(path: Path | str, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (see the module docstring)."""
    with atomic_path(path) as tmp, open(tmp, "xb") as fh:
        fh.write(data)


def write_text_atomic(path: Path | str, text: str, encoding: str = "utf-8") -> None:
    """Replace ``path`` with ``text`` atomically (see the module docstring)."""
    write_bytes_atomic(path, text.encode(encoding))


def copy_file_atomic(source: Path | str, destination: Path | str) -> None:
    """Replace ``destination`` with a copy of ``source`` atomically."""
    with atomic_path(destination) as tmp:
        shutil.copyfile(source, tmp)
