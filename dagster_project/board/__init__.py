"""The company board: every team's number, pace and story on one static page.

``load_board`` (data.py) reads the published DuckDB file read-only; ``render_board``
(render.py) turns it into one self-contained HTML page (Jinja2 template, Plotly inlined);
``write_board`` (build.py) replaces ``published/board/index.html`` atomically;
``screenshot.py`` renders a PNG of the page in headless Chromium. See docs/board.md.
"""

from .build import BoardResult, board_path, write_board
from .data import Board, BoardError, load_board
from .render import render_board

__all__ = [
    "Board",
    "BoardError",
    "BoardResult",
    "board_path",
    "load_board",
    "render_board",
    "write_board",
]
