"""``published/board``: the company board page, written after every publish.

Reads only the published DuckDB file (read-only) and replaces
``<home>/published/board/index.html`` atomically (see ``dagster_project.board``). Whether the
board names people (the leaderboard) is ``board_show_people`` of the run's ``settings.yml``:
the published file carries no settings, and the config asset has already validated the file
before anything was published.
"""

import dagster as dg

from dagster_project.board import write_board
from dagster_project.keys import BOARD_KEY, PUBLISHED_KEY
from dagster_project.resources import QuotaboardPaths
from dagster_project.settings import settings_from_yaml


def board_show_people(paths: QuotaboardPaths) -> bool:
    """``board_show_people`` of ``<config>/settings.yml`` (default true, as in the contract)."""
    value = settings_from_yaml(paths.config).get("board_show_people", True)
    return value if isinstance(value, bool) else True


@dg.asset(
    key=BOARD_KEY,
    group_name="published",
    deps=[PUBLISHED_KEY],
    description=(
        "published/board/index.html: every team's weighted attainment, pace, scorecard and "
        "mission for every plan period, the leaderboard of quota carriers (unless "
        "board_show_people is false), the attainment trend across published runs and the open "
        "exceptions; one offline page with Plotly inlined."
    ),
)
def company_board(
    context: dg.AssetExecutionContext, paths: QuotaboardPaths
) -> dg.MaterializeResult:
    result = write_board(paths.published_dir, show_people=board_show_people(paths))
    board = result.board
    context.log.info(
        f"wrote {result.path} ({result.size_bytes:,} bytes, {len(board.periods)} plan periods, "
        f"default {board.default_period})"
    )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.path)),
            "size_bytes": result.size_bytes,
            "as_of": str(board.as_of) if board.as_of else "",
            "default_period": board.default_period or "",
            "plan_periods": len(board.periods),
            "show_people": result.show_people,
        }
    )
