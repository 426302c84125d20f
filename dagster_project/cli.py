"""``quotaboard``: run the nightly job in process, generate a fictional company, start the UI.

    quotaboard run [--landing DIR] [--config DIR] [--home DIR] [--as-of DATE] [--wait SECONDS]
                   [--full-refresh] [--rebuild] [--reopen PERIOD[,PERIOD]]
    quotaboard generate --out DIR [--scale N] [--seed S]
    quotaboard metrics --metrics M[,M] [--group-by D[,D]] [--where F] [--home DIR]
    quotaboard dev [--host 127.0.0.1] [--port 3000] [--home DIR] [--landing DIR] [--config DIR]
                   [--max-concurrent-runs N] [--instance-only]

A ``run`` whose landing files, config, as_of and code are unchanged since the last run that
completed every step publishes that run's verified build again instead of rebuilding it
(``dagster_project.run_inputs``; ``--rebuild`` runs every step).

``run`` exits 0 when the marts were published, 1 when the run failed (nothing published: the
previous published files are untouched), 2 on a usage error or when another run holds the
home's run lock.

This module parses the arguments and calls: ``resources.resolve_paths`` (the folders of
``run`` and ``dev``: arguments over ``QUOTABOARD_*`` over the sample), ``keys`` (tags and the
run's as_of), ``run_inputs`` (reuse of the last build), ``ingest.manifest``
(``--full-refresh``), ``run_report`` (progress lines, failure and summary), ``dev`` and
``metrics_query``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import warnings
from pathlib import Path

from dagster_project.keys import (
    AS_OF_TAG,
    FULL_REFRESH_TAG,
    MAX_RETRIES_TAG,
    REUSED_BUILD_TAG,
    SOURCE_TAG,
    parse_as_of,
    resolve_as_of,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _out(msg: str = "") -> None:
    print(msg, flush=True)


def _err(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _folders(args: argparse.Namespace, as_of: str | None = None):
    """The command's ``QuotaboardPaths`` (``resources.resolve_paths``: ``--landing``,
    ``--config``, ``--home`` over the environment over the sample); None, after a message,
    when the landing or config folder does not exist."""
    from dagster_project.resources import resolve_paths

    paths = resolve_paths(args.landing, args.config, args.home, as_of)
    for label, folder in (("landing", paths.landing), ("config", paths.config)):
        if not folder.is_dir():
            _err(f"error: the {label} folder {folder} does not exist")
            return None
    return paths


# --------------------------------------------------------------------------------------------
# run


def cmd_run(args: argparse.Namespace) -> int:
    from dagster_project.resources import paths_from_env
    from dagster_project.run_lock import RunLockBusy, default_timeout, run_lock

    as_of = args.as_of if args.as_of is not None else paths_from_env().as_of
    if as_of:
        try:
            as_of = parse_as_of(as_of)
        except ValueError:
            _err(f"error: --as-of {as_of!r} is not a date (YYYY-MM-DD)")
            return EXIT_USAGE
    from dagster_project.period_close import parse_reopen

    try:
        reopen = parse_reopen(args.reopen)
    except ValueError as e:
        _err(f"error: {e}")
        return EXIT_USAGE
    paths = _folders(args, as_of)
    if paths is None:
        return EXIT_USAGE
    wait = default_timeout() if args.wait is None else args.wait

    paths.home.mkdir(parents=True, exist_ok=True)
    try:
        with run_lock(paths.lock_path, timeout=wait, owner="quotaboard run"):
            return _run_locked(
                paths, full_refresh=args.full_refresh, rebuild=args.rebuild, reopen=reopen
            )
    except RunLockBusy as busy:
        _err(f"error: {busy}. Wait for it to finish (or pass --wait SECONDS).")
        return EXIT_USAGE


@contextlib.contextmanager
def _dbt_full_refresh(enabled: bool):
    """dbt reads ``DBT_FULL_REFRESH`` as ``--full-refresh`` (incremental models rebuilt)."""
    if not enabled:
        yield
        return
    old = os.environ.get("DBT_FULL_REFRESH")
    os.environ["DBT_FULL_REFRESH"] = "true"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("DBT_FULL_REFRESH", None)
        else:
            os.environ["DBT_FULL_REFRESH"] = old


def _run_locked(
    paths, full_refresh: bool = False, rebuild: bool = False, reopen: list[str] | None = None
) -> int:
    """The nightly job, in process, on ``paths`` (a ``QuotaboardPaths``; the run lock held)."""
    import dagster as dg

    from dagster_project import run_inputs, run_report
    from dagster_project.ingest.manifest import forget_loaded_files

    landing, config, home, as_of = paths.landing, paths.config, paths.home, paths.as_of
    _out(f"quotaboard run: landing {landing}, config {config}, home {home}")
    _out(f"as of {as_of or 'today (company time zone)'}")
    if full_refresh:
        forgotten = forget_loaded_files(paths.warehouse_path)
        _out(
            f"full refresh: reloading every landing file ({forgotten} were loaded before), "
            "dbt --full-refresh"
        )
    t0 = time.monotonic()
    started_at = time.time()
    from dagster_project.definitions import build_defs
    from dagster_project.defs.quality.checks import render_data_docs
    from dagster_project.dev import ensure_instance_yaml
    from dagster_project.keys import BOARD_KEY, PUBLISHED_KEY
    from dagster_project.period_close import REOPEN_TAG

    blocked = run_inputs.reuse_blocked_by(config, full_refresh, rebuild, bool(reopen))
    fp = None
    reuse = None
    if blocked is None:
        fp = run_inputs.fingerprint(landing, config, resolve_as_of(as_of, config_dir=config))
        reuse = run_inputs.reusable_run(home, paths.published_path, paths.warehouse_path, fp)
    if reuse is None:
        run_inputs.forget(home)
    else:
        _out(
            f"inputs unchanged since run {reuse.run_id} (landing files, config, as_of, code): "
            "publishing its verified build again; loaders, dbt, guards and docs skipped "
            "(--rebuild runs every step)"
        )

    defs = build_defs(paths)
    _out(f"  definitions loaded in {time.monotonic() - t0:.1f}s")
    job = defs.resolve_job_def("nightly").with_logger_defs(
        {"quotaboard_progress": run_report.progress_logger(sys.stdout)}
    )
    dagster_home = home / "dagster"
    # The home's instance: its dagster.yaml written, or brought up to date, unless the operator
    # took it over (dev.py); without one Dagster would use its slower default event log.
    ensure_instance_yaml(dagster_home, max_concurrent_runs=None)
    log_dir = home / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "last-run.log"
    # dbt's own output (dagster-dbt echoes it on stdout) goes to the log file, not the console.
    with (
        dg.DagsterInstance.from_config(str(dagster_home)) as instance,
        open(log_path, "w", encoding="utf-8") as log,
        contextlib.redirect_stdout(log),
        _dbt_full_refresh(full_refresh),
    ):
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"quotaboard_progress": {}}},
            # No run-level retry: a daemon on this home must not re-run a CLI run.
            tags={
                SOURCE_TAG: "cli",
                MAX_RETRIES_TAG: "0",
                **({FULL_REFRESH_TAG: "true"} if full_refresh else {}),
                **({AS_OF_TAG: as_of} if as_of else {}),
                **({REOPEN_TAG: ",".join(reopen)} if reopen else {}),
                **({REUSED_BUILD_TAG: reuse.run_id} if reuse else {}),
            },
            asset_selection=[PUBLISHED_KEY, BOARD_KEY] if reuse else None,
        )
        if not run_report.materialized(result, PUBLISHED_KEY):
            # The board step (which writes it after a publish) did not run: the quality page
            # shows why this run was blocked, beside the GX Data Docs of the checks that ran.
            render_data_docs(paths, result.run_id)
            run_report.write_blocked_quality_page(instance, result.run_id, paths)
    elapsed = time.monotonic() - t0
    if result.success and fp is not None:
        run_inputs.remember(home, paths.published_path, paths.warehouse_path, result.run_id, fp)
    # Exit 0 whenever the marts were published (overview.md: non-zero only when nothing was);
    # a step that failed after the publish (the board, the docs site) is reported as a warning.
    published = run_report.report(
        result,
        paths,
        published_key=PUBLISHED_KEY,
        elapsed=elapsed,
        started_at=started_at,
        log_path=log_path,
        out=_out,
        err=_err,
    )
    return EXIT_OK if published else EXIT_FAILED


# --------------------------------------------------------------------------------------------
# generate, dev


def cmd_generate(args: argparse.Namespace) -> int:
    try:
        from dagster_project.generate import generate
    except ImportError as exc:
        _err(f"error: the generator is not available ({exc})")
        return EXIT_FAILED
    out = Path(args.out).resolve()
    t0 = time.monotonic()
    result = generate(out, scale=args.scale, seed=args.seed)
    _out(f"wrote {out} (scale {args.scale}, seed {args.seed}) in {time.monotonic() - t0:.1f}s")
    if result is not None:
        _out(f"  {result}")
    return EXIT_OK


def cmd_dev(args: argparse.Namespace) -> int:
    """``dg dev`` (webserver + daemon) on ``<home>/dagster`` until stopped (``dev.py``)."""
    from dagster_project.dev import (
        dagster_dev_command,
        dev_environment,
        ensure_instance_yaml,
        run_dev,
    )

    paths = _folders(args)
    if paths is None:
        return EXIT_USAGE
    home, landing, config = paths.home, paths.landing, paths.config
    if not 0 < args.port < 65536:
        _err(f"error: --port {args.port} is not a TCP port (1-65535)")
        return EXIT_USAGE
    if args.max_concurrent_runs < 1:
        _err("error: --max-concurrent-runs must be at least 1")
        return EXIT_USAGE
    yaml_path, written = ensure_instance_yaml(home / "dagster", args.max_concurrent_runs)
    if args.instance_only:
        _out(f"{yaml_path}" + (" (written)" if written else " (kept as it is)"))
        return EXIT_OK
    env = dev_environment(os.environ, home, landing, config)
    cmd = dagster_dev_command(args.host, args.port)
    _out(f"quotaboard dev: home {home}, landing {landing}, config {config}")
    _out(f"  instance {yaml_path}" + (" (written)" if written else " (kept as it is)"))
    _out(f"  UI on http://{args.host}:{args.port}  (stop with Ctrl-C)")
    if not Path(cmd[0]).exists():
        _err("error: the dg command (dagster-dg-cli) is not installed in this environment")
        return EXIT_FAILED
    # `dg dev` as a child: SIGINT/SIGTERM are forwarded to it and waited for (dev.run_dev).
    return run_dev(cmd, env, say=_out)


def cmd_metrics(args: argparse.Namespace) -> int:
    """MetricFlow on the published numbers: ``mf query`` (or ``mf list``) in ``<home>/semantic/``
    against a private copy of ``published/quotaboard.duckdb`` (see ``metrics_query``)."""
    from dagster_project.metrics_query import MetricsQueryError, query_args, run_mf
    from dagster_project.resources import resolve_paths

    home = resolve_paths(home=args.home).home
    if args.list:
        mf_args = ["list", "metrics"]
        if args.metrics:
            mf_args = ["list", "dimensions", "--metrics", args.metrics]
    elif not args.metrics:
        _err("error: name the metrics to query (--metrics a,b), or --list them")
        return EXIT_USAGE
    else:
        mf_args = query_args(
            metrics=[m.strip() for m in args.metrics.split(",") if m.strip()],
            group_by=[g.strip() for g in (args.group_by or "").split(",") if g.strip()],
            where=args.where,
            order=[o.strip() for o in (args.order or "").split(",") if o.strip()],
            limit=args.limit,
            csv=Path(args.csv) if args.csv else None,
            explain=args.explain,
        )
        if args.decimals is not None:
            mf_args += ["--decimals", str(args.decimals)]
    try:
        return run_mf(home, mf_args).returncode
    except MetricsQueryError as exc:
        _err(f"error: {exc}")
        return EXIT_FAILED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="quotaboard", description="Quotaboard: quota attainment for every team."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="one nightly materialisation, in process")
    run.add_argument("--landing", help="landing folder (default: the sample under seeds/)")
    run.add_argument("--config", help="config folder (default: the sample under seeds/)")
    run.add_argument("--home", help="outputs and internal state (default: data/)")
    run.add_argument("--as-of", dest="as_of", help="the run's date, YYYY-MM-DD (default today)")
    run.add_argument(
        "--full-refresh",
        dest="full_refresh",
        action="store_true",
        help="rebuild from raw: read every landing file again and run dbt with --full-refresh",
    )
    run.add_argument(
        "--rebuild",
        action="store_true",
        help=(
            "run every step even when the inputs are unchanged since the last complete run "
            "(by default such a run publishes that run's verified build again)"
        ),
    )
    run.add_argument(
        "--reopen",
        metavar="PERIOD[,PERIOD]",
        help=(
            "reopen closed periods after moving settings closed_through back: name exactly "
            "the snapshotted periods it reopens (a quarter and its months alike)"
        ),
    )
    run.add_argument(
        "--wait",
        type=float,
        default=None,
        help="seconds to wait for another run's lock (default 0 = stop at once)",
    )
    run.set_defaults(func=cmd_run)

    gen = sub.add_parser("generate", help="write a fictional company's landing + config")
    gen.add_argument("--out", required=True)
    gen.add_argument("--scale", type=int, default=1)
    gen.add_argument("--seed", type=int, default=42)
    gen.set_defaults(func=cmd_generate)

    dev = sub.add_parser("dev", help="the Dagster UI and daemon on the same home")
    dev.add_argument(
        "--host",
        default="127.0.0.1",
        help="address the UI listens on (default 127.0.0.1: this machine only)",
    )
    dev.add_argument("--port", type=int, default=3000, help="the UI's port (default 3000)")
    dev.add_argument(
        "--max-concurrent-runs",
        dest="max_concurrent_runs",
        type=int,
        default=1,
        help="runs the queue starts at once (default 1; writing runs are always one at a time)",
    )
    dev.add_argument(
        "--instance-only",
        dest="instance_only",
        action="store_true",
        help="only write <home>/dagster/dagster.yaml, then exit (for services)",
    )
    dev.add_argument("--home")
    dev.add_argument("--landing")
    dev.add_argument("--config")
    dev.set_defaults(func=cmd_dev)
    metrics = sub.add_parser(
        "metrics",
        help="query the semantic layer (MetricFlow) over the published marts",
        description="MetricFlow over the home's published numbers, e.g. --metrics "
        "bookings_actual,bookings_attainment --group-by fiscal_period,plan_row__assignee_name",
    )
    metrics.add_argument("--metrics", help="comma-separated metric names")
    metrics.add_argument(
        "--group-by", dest="group_by", help="comma-separated dimensions, e.g. team__function"
    )
    metrics.add_argument(
        "--where",
        action="append",
        help="filter, e.g. \"{{ Dimension('fiscal_period__period_type') }} = 'quarter'\" "
        "(repeatable)",
    )
    metrics.add_argument("--order", help="comma-separated; a leading - sorts descending")
    metrics.add_argument("--limit", type=int)
    metrics.add_argument(
        "--decimals",
        type=int,
        help="digits after the decimal point (default: money 0, percentages 1, others 2)",
    )
    metrics.add_argument(
        "--csv",
        nargs="?",
        const="-",
        metavar="FILE",
        help="write the rows as CSV for machines: to FILE, or to standard output without one",
    )
    metrics.add_argument("--explain", action="store_true", help="show the SQL, do not run it")
    metrics.add_argument(
        "--list",
        action="store_true",
        help="list the metrics (with --metrics: the dimensions they can be grouped by)",
    )
    metrics.add_argument("--home", help="the home whose published file to query (default: data/)")
    metrics.set_defaults(func=cmd_metrics)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    warnings.filterwarnings("ignore", module=r"dagster.*")
    warnings.filterwarnings("ignore", message=r".*(preview|beta|deprecat).*")
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
