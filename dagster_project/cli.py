"""``quotaboard``: run the nightly job in process, generate a fictional company, start the UI.

    quotaboard run [--landing DIR] [--config DIR] [--home DIR] [--as-of DATE] [--wait SECONDS]
                   [--full-refresh] [--rebuild]
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
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import sys
import time
import warnings
from datetime import date
from pathlib import Path

from dagster_project.settings import company_timezone, today_in

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _out(msg: str = "") -> None:
    print(msg, flush=True)


def _err(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# progress: a Dagster logger that prints one line per step


class _Progress(logging.Handler):
    def __init__(self, stream) -> None:
        super().__init__(level=logging.DEBUG)
        self.stream = stream
        self.started: dict[str, float] = {}
        self.assets: dict[str, int] = {}
        self.checks: dict[str, list[int]] = {}

    def _say(self, msg: str) -> None:
        self.stream.write(msg + "\n")
        self.stream.flush()

    @staticmethod
    def _label(step_key: str) -> str:
        return step_key.replace("__", "/")

    def emit(self, record: logging.LogRecord) -> None:  # noqa: D102
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is None:
            return
        kind = event.event_type_value
        step = event.step_key or ""
        if kind == "STEP_START":
            self.started[step] = time.monotonic()
            if step.startswith("dbt"):
                self._say(f"  .. {self._label(step)} (dbt build: models, then their tests)")
        elif kind == "ASSET_MATERIALIZATION":
            self.assets[step] = self.assets.get(step, 0) + 1
        elif kind == "ASSET_CHECK_EVALUATION":
            passed = bool(getattr(event.event_specific_data, "passed", True))
            counts = self.checks.setdefault(step, [0, 0])
            counts[0 if passed else 1] += 1
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            secs = time.monotonic() - self.started.get(step, time.monotonic())
            detail = []
            if self.assets.get(step, 0) > 1:
                detail.append(f"{self.assets[step]} assets")
            if step in self.checks:
                ok, bad = self.checks[step]
                detail.append(f"{ok} checks passed" + (f", {bad} failed" if bad else ""))
            status = "ok " if kind == "STEP_SUCCESS" else "FAILED"
            extra = f" ({', '.join(detail)})" if detail else ""
            self._say(f"  {status} {self._label(step)}  {secs:.1f}s{extra}")
        elif kind == "STEP_SKIPPED":
            self._say(f"  skipped {self._label(step)} (an upstream step failed)")


def _progress_logger(stream):
    import dagster as dg

    @dg.logger(description="quotaboard run: one line per step")
    def quotaboard_progress(_init_context):
        lg = logging.Logger("quotaboard_progress", level=logging.DEBUG)
        lg.addHandler(_Progress(stream))
        return lg

    return quotaboard_progress


# --------------------------------------------------------------------------------------------
# run


MAX_MESSAGE_LINES = 20
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _failure_messages(result) -> list[str]:
    """What went wrong, as the failing steps describe it (a dg.Failure's description, else the
    error's message), without tracebacks; steps failing the same way share one line."""
    by_text: dict[str, list[str]] = {}
    run_failure: str | None = None
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            data = event.step_failure_data
            label = (event.step_key or "").replace("__", "/")
            text = None
            if data.user_failure_data is not None and data.user_failure_data.description:
                text = data.user_failure_data.description
            elif data.error is not None:
                err = data.error
                # Unwrap Dagster's "Error occurred while executing ..." wrappers.
                while err.cause is not None and err.cls_name in (
                    "DagsterExecutionStepExecutionError",
                    "DagsterUserCodeExecutionError",
                ):
                    err = err.cause
                text = err.message.strip()
            by_text.setdefault(_ANSI.sub("", text or "failed"), []).append(label)
        elif event.event_type_value == "RUN_FAILURE" and run_failure is None:
            err = getattr(event.event_specific_data, "error", None)
            if err is not None:
                run_failure = _ANSI.sub("", err.message.strip())
    messages = []
    for text, labels in by_text.items():
        more = f" (and {len(labels) - 1} more steps)" if len(labels) > 1 else ""
        lines = text.splitlines()
        if len(lines) > MAX_MESSAGE_LINES:
            rest = len(lines) - MAX_MESSAGE_LINES
            lines = [*lines[:MAX_MESSAGE_LINES], f"... and {rest} more lines (Dagster event log)"]
        messages.append(f"{labels[0]}{more}: " + "\n".join(lines))
    if not messages and run_failure:
        messages.append(run_failure)
    return messages


def _failed_guards(result) -> tuple[list[str], list[str]]:
    """(blocking, warning) lines for the checks of the run that failed: the guard's asset and
    name and its description (a GX guard's names each failed expectation and where its first
    failing rows are; a dbt test's gives its failing row count)."""
    import dagster as dg

    blocking: list[str] = []
    warning: list[str] = []
    for event in result.all_events:
        if event.event_type_value != "ASSET_CHECK_EVALUATION":
            continue
        data = event.event_specific_data
        if getattr(data, "passed", True):
            continue
        label = f"{data.asset_key.to_user_string()} {data.check_name}"
        text = _ANSI.sub("", (data.description or "").strip())
        meta = data.metadata or {}
        failed_rows = meta.get("dagster_dbt/failed_row_count")
        if failed_rows is not None:
            text = (text + f" ({failed_rows.value} failing rows)").strip()
        target = blocking if data.severity == dg.AssetCheckSeverity.ERROR else warning
        target.append(f"{label}: {text or 'failed'}")
    return blocking, warning


def _published(result, key) -> bool:
    return any(
        e.event_type_value == "ASSET_MATERIALIZATION" and e.asset_key == key
        for e in result.all_events
    )


_PLURAL = {"team": "teams", "person": "people"}


def _summary(paths, run_id: str, started_at: float) -> list[str]:
    import duckdb

    lines: list[str] = []
    # Landing files and rows (from the loaders' manifest in the working database).
    with contextlib.suppress(duckdb.Error, OSError):
        conn = duckdb.connect(str(paths.warehouse_path), read_only=True)
        try:
            files, rows, new_files, new_rows = conn.execute(
                """
                select count(*), coalesce(sum(row_count), 0),
                       count(*) filter (where epoch(loaded_at) >= ?),
                       coalesce(sum(row_count) filter (where epoch(loaded_at) >= ?), 0)
                from raw.load_manifest
                """,
                [started_at - 5, started_at - 5],
            ).fetchone()
            lines.append(
                f"landing: {files} files, {rows} rows ({new_files} files, {new_rows} rows "
                "read this run)"
            )
        finally:
            conn.close()

    published = paths.published_dir / "quotaboard.duckdb"
    if not published.exists():
        return lines
    with contextlib.suppress(duckdb.Error, OSError):
        conn = duckdb.connect(str(published), read_only=True)
        try:
            with contextlib.suppress(duckdb.Error):
                as_of = conn.execute(
                    "select max(as_of) from marts.fct_attainment_history where run_id = ?",
                    [run_id],
                ).fetchone()[0]
                if as_of is not None:
                    lines.append(f"as of: {as_of}")
                for kind, n, med, at_or_above in conn.execute(
                    """
                    with years as (
                        select p.fiscal_period from marts.dim_fiscal_periods p
                        where p.period_type = 'year' and ? between p.period_start and p.period_end
                    )
                    select s.assignee_type, count(*), median(s.weighted_attainment),
                           count(*) filter (where s.weighted_attainment >= 1)
                    from marts.fct_scorecards s join years using (fiscal_period)
                    group by 1 order by 1 desc
                    """,
                    [as_of],
                ).fetchall():
                    med_txt = "n/a" if med is None else f"{med:.0%}"
                    lines.append(
                        f"{_PLURAL.get(kind, kind)} (fiscal year to date): {n} with quotas, "
                        f"median attainment "
                        f"{med_txt}, {at_or_above} at or above 100%"
                    )
            with contextlib.suppress(duckdb.Error):
                reasons = conn.execute(
                    """
                    select reason, sum(row_count) from marts.fct_quota_exceptions
                    group by 1 order by 2 desc, 1
                    """
                ).fetchall()
                total = sum(int(r[1] or 0) for r in reasons)
                detail = ", ".join(f"{r}: {int(n or 0)}" for r, n in reasons)
                lines.append(f"exceptions: {total}" + (f" ({detail})" if detail else ""))
        finally:
            conn.close()
    lines.append(f"published: {published}")
    lines.append(f"parquet:   {paths.published_dir / 'parquet'}")
    for extra in ("docs/index.html", "board/index.html", "quality"):
        if (paths.published_dir / extra).exists():
            lines.append(f"           {paths.published_dir / extra}")
    return lines


def cmd_run(args: argparse.Namespace) -> int:
    from dagster_project.resources import paths_from_env
    from dagster_project.run_lock import RunLockBusy, default_timeout, run_lock

    env = paths_from_env()
    landing = Path(args.landing or env.landing_dir).resolve()
    config = Path(args.config or env.config_dir).resolve()
    home = Path(args.home or env.home_dir).resolve()
    as_of = args.as_of if args.as_of is not None else env.as_of
    if as_of:
        try:
            as_of = date.fromisoformat(as_of).isoformat()
        except ValueError:
            _err(f"error: --as-of {as_of!r} is not a date (YYYY-MM-DD)")
            return EXIT_USAGE
    for label, folder in (("landing", landing), ("config", config)):
        if not folder.is_dir():
            _err(f"error: the {label} folder {folder} does not exist")
            return EXIT_USAGE
    wait = default_timeout() if args.wait is None else args.wait

    home.mkdir(parents=True, exist_ok=True)
    lock_path = home / "run.lock"
    try:
        with run_lock(lock_path, timeout=wait, owner="quotaboard run"):
            return _run_locked(
                landing,
                config,
                home,
                as_of,
                full_refresh=args.full_refresh,
                rebuild=args.rebuild,
            )
    except RunLockBusy as busy:
        _err(f"error: {busy}. Wait for it to finish (or pass --wait SECONDS).")
        return EXIT_USAGE


def _forget_loaded_files(warehouse_path: Path) -> int:
    """``--full-refresh``: empty the loaders' manifest, so every landing file is read again
    (each in place of its old rows). Returns the number of files forgotten."""
    import duckdb

    from dagster_project.ingest.manifest import MANIFEST

    if not warehouse_path.exists():
        return 0
    conn = duckdb.connect(str(warehouse_path))
    try:
        try:
            (n,) = conn.execute(f"select count(*) from {MANIFEST}").fetchone()
        except duckdb.CatalogException:
            return 0
        conn.execute(f"delete from {MANIFEST}")
        return int(n)
    finally:
        conn.close()


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
    landing: Path,
    config: Path,
    home: Path,
    as_of: str,
    full_refresh: bool = False,
    rebuild: bool = False,
) -> int:
    import dagster as dg

    from dagster_project.resources import QuotaboardPaths

    _out(f"quotaboard run: landing {landing}, config {config}, home {home}")
    _out(f"as of {as_of or 'today (company time zone)'}")
    if full_refresh:
        forgotten = _forget_loaded_files(home / "warehouse" / "quotaboard.duckdb")
        _out(
            f"full refresh: reloading every landing file ({forgotten} were loaded before), "
            "dbt --full-refresh"
        )
    t0 = time.monotonic()
    started_at = time.time()
    paths = QuotaboardPaths(
        landing_dir=str(landing), config_dir=str(config), home_dir=str(home), as_of=as_of
    )
    from dagster_project import run_inputs
    from dagster_project.definitions import build_defs
    from dagster_project.defs.board import BOARD_KEY
    from dagster_project.defs.publish import PUBLISHED_KEY
    from dagster_project.defs.transform.assets import AS_OF_TAG

    published_path = home / "published" / "quotaboard.duckdb"
    warehouse_path = home / "warehouse" / "quotaboard.duckdb"
    blocked = run_inputs.reuse_blocked_by(config, full_refresh, rebuild)
    fp = None
    reuse = None
    if blocked is None:
        effective_as_of = as_of or today_in(company_timezone(config)).isoformat()
        fp = run_inputs.fingerprint(landing, config, effective_as_of)
        reuse = run_inputs.reusable_run(home, published_path, warehouse_path, fp)
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
        {"quotaboard_progress": _progress_logger(sys.stdout)}
    )
    dagster_home = home / "dagster"
    dagster_home.mkdir(parents=True, exist_ok=True)
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
                "quotaboard/source": "cli",
                "dagster/max_retries": "0",
                **({"quotaboard/full_refresh": "true"} if full_refresh else {}),
                **({AS_OF_TAG: as_of} if as_of else {}),
                **({"quotaboard/reused_build_of": reuse.run_id} if reuse else {}),
            },
            asset_selection=[PUBLISHED_KEY, BOARD_KEY] if reuse else None,
        )
    elapsed = time.monotonic() - t0
    run_id = result.run_id
    if result.success and fp is not None:
        run_inputs.remember(home, published_path, warehouse_path, run_id, fp)
    # Exit 0 whenever the marts were published (overview.md: non-zero only when nothing was);
    # a step that failed after the publish (the board, the docs site) is reported as a warning.
    ok = _published(result, PUBLISHED_KEY)
    blocking, warnings_ = _failed_guards(result)
    if not ok:
        _out("")
        _err(f"FAILED after {elapsed:.1f}s (run {run_id}): nothing was published.")
        for guard in blocking:
            _err(f"  blocking guard failed: {guard}")
        messages = _failure_messages(result) or ["the run failed (see the Dagster event log)"]
        for msg in messages:
            _err(f"  {msg}")
        for guard in warnings_:
            _err(f"  warning: {guard}")
        if any(m.startswith("dbt_models") for m in messages):
            _err(f"  dbt output: {log_path}")
        if (home / "published" / "quotaboard.duckdb").exists():
            _err(f"  the previous {home / 'published' / 'quotaboard.duckdb'} is unchanged")
        return EXIT_FAILED
    _out("")
    _out(f"published in {elapsed:.1f}s (run {run_id})")
    for line in _summary(paths, run_id, started_at):
        _out(f"  {line}")
    for guard in warnings_:
        _out(f"  warning: {guard}")
    if not result.success:
        for msg in _failure_messages(result):
            _out(f"  warning: after publishing, {msg}")
    return EXIT_OK


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
    """Become ``dagster dev`` (webserver + daemon) on ``<home>/dagster`` (see ``dev.py``)."""
    from dagster_project.dev import dagster_dev_command, dev_environment, ensure_instance_yaml
    from dagster_project.resources import paths_from_env

    env_paths = paths_from_env()
    home = Path(args.home or env_paths.home_dir).resolve()
    landing = Path(args.landing or env_paths.landing_dir).resolve()
    config = Path(args.config or env_paths.config_dir).resolve()
    for label, folder in (("landing", landing), ("config", config)):
        if not folder.is_dir():
            _err(f"error: the {label} folder {folder} does not exist")
            return EXIT_USAGE
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
        _err("error: the dagster command is not installed in this environment")
        return EXIT_FAILED
    # Become `dagster dev` (signals reach it directly; it stops the UI and daemon with it).
    os.execve(cmd[0], cmd, env)
    return EXIT_OK  # not reached


def cmd_metrics(args: argparse.Namespace) -> int:
    """MetricFlow on the published numbers: ``mf query`` (or ``mf list``) in ``<home>/semantic/``
    against a private copy of ``published/quotaboard.duckdb`` (see ``metrics_query``)."""
    from dagster_project.metrics_query import MetricsQueryError, query_args, run_mf
    from dagster_project.resources import paths_from_env

    home = Path(args.home or paths_from_env().home_dir).resolve()
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
    metrics.add_argument("--decimals", type=int, help="digits after the decimal point")
    metrics.add_argument("--csv", help="write the result to this CSV file")
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
