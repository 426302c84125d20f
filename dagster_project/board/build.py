"""Write ``<published>/board/index.html`` from ``<published>/quotaboard.duckdb``.

The page is written to a temporary file in the same folder and renamed onto ``index.html``,
so a reader never sees half a page and a failed build leaves yesterday's board in place.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from dagster_project.publish import PUBLISHED_FILE

from .data import Board, load_board
from .render import render_board

BOARD_DIR = "board"
BOARD_FILE = "index.html"


@dataclass
class BoardResult:
    path: Path
    board: Board
    size_bytes: int
    show_people: bool


def board_path(published_dir: Path) -> Path:
    return Path(published_dir) / BOARD_DIR / BOARD_FILE


def write_board(
    published_dir: Path, *, show_people: bool = True, settings: dict | None = None
) -> BoardResult:
    """Render the board from ``<published_dir>/quotaboard.duckdb`` (read-only) and replace
    ``<published_dir>/board/index.html`` atomically. ``settings`` (the run's settings.yml)
    fills in what an older published file does not carry (the corporate currency)."""
    published_dir = Path(published_dir)
    board = load_board(published_dir / PUBLISHED_FILE, settings=settings)
    html = render_board(board, show_people=show_people)
    out = board_path(published_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(html, encoding="utf-8")
        os.replace(tmp, out)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
    return BoardResult(
        path=out, board=board, size_bytes=out.stat().st_size, show_people=show_people
    )
