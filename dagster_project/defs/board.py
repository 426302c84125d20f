"""``published/board``: the company board page and the quality report, written after every
publish.

Reads only the published DuckDB file (read-only) and replaces
``<home>/published/board/index.html`` atomically (see ``dagster_project.board``). Whether the
board names people (the leaderboard) is ``board_show_people`` of the run's ``settings.yml``:
the published file carries no settings, and the config asset has already validated the file
before anything was published.

The same step writes ``<home>/published/quality/index.html`` (``quality/report_page.py``) from
the run's asset-check evaluations in the Dagster instance: it runs after the publish, which
runs only after every blocking guard (landing and mart suites, dbt tests) has passed, so every
guard of the run has been evaluated by then (the non-blocking freshness check of the
published file may still be running, and is then left out).
"""

import dagster as dg

from dagster_project.board import write_board
from dagster_project.keys import BOARD_KEY, PUBLISHED_KEY, REUSED_BUILD_TAG
from dagster_project.quality.report_page import checks_from_instance, write_quality_page
from dagster_project.resources import QuotaboardPaths
from dagster_project.settings import settings_from_yaml

from .quality.checks import render_data_docs


def board_show_people(paths: QuotaboardPaths) -> bool:
    """``board_show_people`` of ``<config>/settings.yml`` (default true, as in the contract)."""
    value = settings_from_yaml(paths.config).get("board_show_people", True)
    return value if isinstance(value, bool) else True


def build_run_id(instance: dg.DagsterInstance, run: dg.DagsterRun) -> str:
    """The run whose guards judged what ``run`` publishes: the run itself, or, for a run that
    republished a verified build (``quotaboard/reused_build_of``, which runs no guard), the
    run that built it (followed through earlier republishing runs)."""
    run_id, seen = run.run_id, set()
    tags = run.tags
    while tags.get(REUSED_BUILD_TAG) and run_id not in seen:
        seen.add(run_id)
        run_id = tags[REUSED_BUILD_TAG]
        built = instance.get_run_by_id(run_id)
        tags = built.tags if built is not None else {}
    return run_id


def write_run_quality_page(context: dg.AssetExecutionContext, paths: QuotaboardPaths, as_of):
    """The quality report of this run (and its GX Data Docs); a failure is logged, never fails
    the board."""
    try:
        render_data_docs(paths, context.run.run_id)
        source = build_run_id(context.instance, context.run)
        guards = checks_from_instance(context.instance, source)
        page = write_quality_page(
            paths.published_dir / "quality",
            guards,
            run_id=context.run.run_id,
            build_run_id=source if source != context.run.run_id else None,
            as_of=str(as_of) if as_of else None,
        )
    except Exception as exc:  # noqa: BLE001 - the report is a by-product of the run
        context.log.warning(f"quality report not written: {exc}")
        return None, []
    context.log.info(f"wrote {page} ({len(guards)} guards)")
    return page, guards


@dg.asset(
    key=BOARD_KEY,
    group_name="published",
    deps=[PUBLISHED_KEY],
    description=(
        "published/board/index.html: every team's score, pace, projection, scorecard and "
        "mission for every plan period with a team quota, roll-ups for teams without one, what "
        "moved since the previous run and the credit lines behind each number, the leaderboard "
        "of quota carriers (unless board_show_people is false) and the data problems; one "
        "offline page with Plotly inlined. Also published/quality/index.html: every guard of "
        "the run, offline."
    ),
)
def company_board(
    context: dg.AssetExecutionContext, paths: QuotaboardPaths
) -> dg.MaterializeResult:
    settings = settings_from_yaml(paths.config)
    result = write_board(
        paths.published_dir, show_people=board_show_people(paths), settings=settings
    )
    board = result.board
    context.log.info(
        f"wrote {result.path} ({result.size_bytes:,} bytes, {len(board.periods)} plan periods, "
        f"default {board.default_period})"
    )
    quality_page, guards = write_run_quality_page(context, paths, board.as_of)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.path)),
            "size_bytes": result.size_bytes,
            "as_of": str(board.as_of) if board.as_of else "",
            "data_through": str(board.data_through) if board.data_through else "",
            "default_period": board.default_period or "",
            "plan_periods": len(board.periods),
            "show_people": result.show_people,
            "quality_page": dg.MetadataValue.path(str(quality_page or "(not written)")),
            "guards": len(guards),
        }
    )
