"""``quotaboard``: run the nightly job in process, generate a fictional company, start the UI.

    quotaboard run [--landing DIR] [--config DIR] [--home DIR] [--as-of DATE] [--wait SECONDS]
    quotaboard generate --out DIR [--scale N] [--seed S]
    quotaboard dev [--host 127.0.0.1] [--port 3000] [--home DIR] [--landing DIR] [--config DIR]

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
            return _run_locked(landing, config, home, as_of)
    except RunLockBusy as busy:
        _err(f"error: {busy}. Wait for it to finish (or pass --wait SECONDS).")
        return EXIT_USAGE


def _run_locked(landing: Path, config: Path, home: Path, as_of: str) -> int:
    import dagster as dg

    from dagster_project.resources import QuotaboardPaths

    _out(f"quotaboard run: landing {landing}, config {config}, home {home}")
    _out(f"as of {as_of or 'today (company time zone)'}")
    t0 = time.monotonic()
    started_at = time.time()
    paths = QuotaboardPaths(
        landing_dir=str(landing), config_dir=str(config), home_dir=str(home), as_of=as_of
    )
    from dagster_project.definitions import build_defs
    from dagster_project.defs.publish import PUBLISHED_KEY

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
    ):
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"quotaboard_progress": {}}},
            tags={"quotaboard/source": "cli"},
        )
    elapsed = time.monotonic() - t0
    run_id = result.run_id
    ok = result.success and _published(result, PUBLISHED_KEY)
    if not ok:
        _out("")
        _err(f"FAILED after {elapsed:.1f}s (run {run_id}): nothing was published.")
        messages = _failure_messages(result) or ["the run failed (see the Dagster event log)"]
        for msg in messages:
            _err(f"  {msg}")
        if any(m.startswith("dbt_models") for m in messages):
            _err(f"  dbt output: {log_path}")
        if (home / "published" / "quotaboard.duckdb").exists():
            _err(f"  the previous {home / 'published' / 'quotaboard.duckdb'} is unchanged")
        return EXIT_FAILED
    _out("")
    _out(f"published in {elapsed:.1f}s (run {run_id})")
    for line in _summary(paths, run_id, started_at):
        _out(f"  {line}")
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
    from dagster_project.resources import paths_from_env

    env_paths = paths_from_env()
    home = Path(args.home or env_paths.home_dir).resolve()
    dagster_home = home / "dagster"
    dagster_home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        DAGSTER_HOME=str(dagster_home),
        QUOTABOARD_HOME=str(home),
        QUOTABOARD_LANDING=str(Path(args.landing or env_paths.landing_dir).resolve()),
        QUOTABOARD_CONFIG=str(Path(args.config or env_paths.config_dir).resolve()),
    )
    # A scheduled run that meets `quotaboard run` waits for it (30 min) instead of failing.
    env.setdefault("QUOTABOARD_LOCK_TIMEOUT", "1800")
    dagster = Path(sys.executable).parent / "dagster"
    cmd = [
        str(dagster),
        "dev",
        "-m",
        "dagster_project.definitions",
        "-h",
        args.host,
        "-p",
        str(args.port),
    ]
    _out(f"DAGSTER_HOME={dagster_home}; {' '.join(cmd)}")
    if not Path(cmd[0]).exists():
        _err("error: the dagster command is not installed in this environment")
        return EXIT_FAILED
    # Become `dagster dev` (signals reach it directly; no orphaned UI or daemon).
    os.execve(cmd[0], cmd, env)
    return EXIT_OK  # not reached


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
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=3000)
    dev.add_argument("--home")
    dev.add_argument("--landing")
    dev.add_argument("--config")
    dev.set_defaults(func=cmd_dev)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    warnings.filterwarnings("ignore", module=r"dagster.*")
    warnings.filterwarnings("ignore", message=r".*(preview|beta|deprecat).*")
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
