"""Quotaboard at scale: the plain-pass floor, a full rebuild, a no-op run and a one-day run.

    python benchmarks/bench.py [--scale N] [--runs K] [--quick] [--out DIR] [--results DIR]
                               [--memory-limit 2GB] [--max-minutes M] [--skip LIST]
                               [--code HEAD|<commit>|worktree] [--no-bytecode-cache] [--profile]

(``make bench ARGS="--scale 20"``). Steps:

0. ``quotaboard generate --out DIR/scale<N> --scale N`` (kept and re-used when it is already
   there), and ``duckdb_memory_limit`` set in the generated ``config/settings.yml``.
1. plain pass (``benchmarks/plain.py`` in its own process): the floor for this input.
2. full rebuild: ``quotaboard run`` on an empty home, K times (a new home each time).
3. no-op run: ``quotaboard run`` again on the last home, no new files, K times.
4. one-day run: ``benchmarks/oneday.py`` adds one more day of messages and an Opportunity
   delta, then ``quotaboard run``, K times (a new day each time). The added files are removed
   at the end, so the generated landing folder is left as the generator wrote it.

Every run is a subprocess measured for wall time and the peak resident memory of its whole
process tree (``benchmarks/proctree.py``). The table goes to stdout and to
``<results>/<today>-scale<N>.md`` (with a ``.json`` of the numbers beside it; a second page of
the same day and scale is named ``<today>-scale<N>-<commit>.md``, never overwriting). Each
measurement is repeated K times while the time budget (``--max-minutes``) allows; the page
says how many runs each median is of.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.oneday import add_day, message_days, remove_added  # noqa: E402
from benchmarks.proctree import Measurement, run_measured  # noqa: E402
from benchmarks.report import Series, markdown, step_timings  # noqa: E402

PYTHON = sys.executable
QUOTABOARD = [PYTHON, "-m", "dagster_project.cli"]
COMPLETE = ".generated.json"
ADDED = ".oneday-added.json"


class Code:
    """Which pipeline code the runs use and the environment they run in.

    ``head``: a copy of the last commit (``git archive HEAD``, read-only for the repository),
    so edits in progress in the working tree neither break nor change the measurement;
    ``worktree``: the working tree as it is. The copy comes first on ``PYTHONPATH``, ahead of
    the environment's editable install. Bytecode is cached under ``<out>/pycache``
    (``PYTHONPYCACHEPREFIX``) unless ``cache_bytecode`` is false: a machine that sets
    ``PYTHONDONTWRITEBYTECODE`` recompiles every imported module on every start."""

    def __init__(self, which: str, out: Path, cache_bytecode: bool) -> None:
        self.which = which
        if which == "worktree":
            self.root = REPO_ROOT
            self.commit = git("rev-parse", "--short", "HEAD") + " + uncommitted working tree"
        else:
            sha = git("rev-parse", "--short", which)
            self.root = out / f"code-{sha}"
            self.commit = sha
            if not (self.root / "dagster_project").is_dir():
                self.root.mkdir(parents=True, exist_ok=True)
                archive = subprocess.run(
                    ["git", "-C", str(REPO_ROOT), "archive", "--format=tar", which],
                    capture_output=True,
                    check=True,
                ).stdout
                subprocess.run(["tar", "-x", "-C", str(self.root)], input=archive, check=True)
        self.env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(self.root)}
        if cache_bytecode:
            self.env.pop("PYTHONDONTWRITEBYTECODE", None)
            self.env["PYTHONPYCACHEPREFIX"] = str(out / "pycache")
        else:
            self.env["PYTHONDONTWRITEBYTECODE"] = "1"


def git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        return ""


def say(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def brief(m: Measurement) -> str:
    return f"{m.wall_s:.1f}s (CPU {m.cpu_s:.1f}s), peak {m.peak_tree_rss_mb:,.0f} MiB"


def machine() -> dict:
    """Cores, memory, CPU, versions, the commit: what a reader needs to compare numbers."""
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        pass
    import duckdb

    return {
        "cores": os.cpu_count(),
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "cpu": cpu or platform.processor(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "load average at start (1/5/15 min)": "/".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def set_memory_limit(config: Path, limit: str | None) -> None:
    """Write ``duckdb_memory_limit`` into the generated ``settings.yml``."""
    path = config / "settings.yml"
    text = path.read_text(encoding="utf-8")
    value = f'"{limit}"' if limit else "null"
    line = f"duckdb_memory_limit: {value}"
    if re.search(r"(?m)^duckdb_memory_limit:.*$", text):
        text = re.sub(r"(?m)^duckdb_memory_limit:.*$", line, text)
    else:
        text = text.rstrip("\n") + "\n" + line + "\n"
    path.write_text(text, encoding="utf-8")


def company_timezone(config: Path) -> str:
    m = re.search(r"(?m)^timezone:\s*['\"]?([A-Za-z_/+-]+)", (config / "settings.yml").read_text())
    return m.group(1) if m else "UTC"


def ensure_company(
    root: Path, scale: int, seed: int, code: Code
) -> tuple[Path, Path, Measurement | None]:
    """(landing, config, the generation's measurement or None when re-used)."""
    marker = root / COMPLETE
    if marker.exists():
        info = json.loads(marker.read_text())
        if info.get("scale") == scale and info.get("seed") == seed:
            say(f"re-using the company generated in {root}")
            return root / "landing", root / "config", None
    for stale in ("landing", "config", "home"):
        shutil.rmtree(root / stale, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    say(f"generating scale {scale} into {root} ...")
    cmd = [*QUOTABOARD, "generate", "--out", str(root), "--scale", str(scale)]
    m = run_measured([*cmd, "--seed", str(seed)], cwd=code.root, env=code.env)
    if m.returncode != 0:
        raise SystemExit(f"generate failed ({m.returncode}):\n{m.stderr[-3000:]}")
    say(f"generated in {m.wall_s:.1f}s, peak {m.peak_tree_rss_mb:,.0f} MiB: {m.stdout.strip()}")
    marker.write_text(json.dumps({"scale": scale, "seed": seed, "stdout": m.stdout}))
    return root / "landing", root / "config", m


def plain_pass(landing: Path, tz: str, memory_limit: str | None) -> tuple[Measurement, dict]:
    cmd = [PYTHON, "-m", "benchmarks.plain", "--landing", str(landing), "--timezone", tz]
    if memory_limit:
        cmd += ["--memory-limit", memory_limit]
    m = run_measured(cmd, cwd=REPO_ROOT)
    if m.returncode != 0:
        raise SystemExit(f"plain pass failed ({m.returncode}):\n{m.stderr[-3000:]}")
    return m, json.loads(m.stdout.strip().splitlines()[-1])


def warm_up(code: Code) -> Measurement:
    """Import the definitions once (dbt parse of the code's manifest when it has none, and the
    bytecode cache): a cost of the first run after an install, not of a nightly run."""
    script = (
        "from dagster_project.defs.transform.project import dbt_project; dbt_project(); "
        "import dagster_project.definitions"
    )
    return run_measured([PYTHON, "-c", script], cwd=code.root, env=code.env)


def quotaboard_run(home: Path, landing: Path, config: Path, as_of: str, code: Code) -> Measurement:
    cmd = [*QUOTABOARD, "run", "--home", str(home), "--landing", str(landing)]
    cmd += ["--config", str(config), "--as-of", as_of]
    m = run_measured(cmd, cwd=code.root, env=code.env)
    if m.returncode != 0:
        say(f"quotaboard run exited {m.returncode}:\n{m.stderr[-2000:]}")
    return m


def rows_read(m: Measurement) -> int:
    """Rows the run read from landing (its own summary line), 0 when it does not say."""
    hit = re.search(r"landing: .*\((\d+) files, (\d+) rows read this run\)", m.stdout)
    return int(hit.group(2)) if hit else 0


def record_added_days(root: Path, added: list) -> None:
    """Note the files the one-day runs added, so an interrupted benchmark's are removed later."""
    files = [str(p) for a in added for p in a.files]
    (root / ADDED).write_text(json.dumps(files), encoding="utf-8")


def remove_leftover_days(root: Path) -> list[str]:
    """Remove the files an interrupted benchmark's one-day runs left in the landing folder."""
    path = root / ADDED
    if not path.exists():
        return []
    files = json.loads(path.read_text(encoding="utf-8"))
    for f in files:
        p = Path(f)
        p.unlink(missing_ok=True)
        if p.parent.name.startswith("date=") and p.parent.is_dir() and not any(p.parent.iterdir()):
            p.parent.rmdir()
    path.unlink()
    return files


class Budget:
    """Repeat a measurement only while the whole benchmark stays within ``minutes``."""

    def __init__(self, minutes: float) -> None:
        self.deadline = time.monotonic() + minutes * 60

    def allows(self, last_wall: float) -> bool:
        return time.monotonic() + last_wall <= self.deadline


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Quotaboard benchmark: floor, full, no-op, one-day.")
    p.add_argument("--scale", type=int, default=1, help="generator scale (1 = the sample)")
    p.add_argument("--runs", type=int, default=3, help="runs per measurement (median of K)")
    p.add_argument("--quick", action="store_true", help="scale 1, one run each (minutes)")
    p.add_argument("--out", type=Path, default=REPO_ROOT / "data" / "bench", help="data folder")
    p.add_argument("--results", type=Path, default=REPO_ROOT / "benchmarks" / "results")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument(
        "--memory-limit",
        default="2GB",
        help="duckdb_memory_limit in settings.yml (2GB keeps DuckDB and Python under 3 GB)",
    )
    p.add_argument("--max-minutes", type=float, default=90.0, help="budget for repetitions")
    p.add_argument(
        "--skip",
        default="",
        help="comma-separated measurements to leave out: plain,full,noop,oneday",
    )
    p.add_argument(
        "--code",
        default="HEAD",
        help="pipeline code: a commit (copied with git archive; default HEAD) or 'worktree'",
    )
    p.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="recompile every module on every start (as with PYTHONDONTWRITEBYTECODE=1)",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="also run one no-op under cProfile (top functions to <out>/noop.prof.txt)",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.scale, args.runs = 1, 1
    if args.scale < 1 or args.runs < 1:
        p.error("--scale and --runs must be at least 1")
    return args


def profile_noop(
    home: Path, landing: Path, config: Path, as_of: str, out: Path, code: Code
) -> Path:
    """One no-op run under cProfile; the 40 costliest functions (cumulative) as text."""
    prof = out / "noop.prof"
    cmd = [PYTHON, "-m", "cProfile", "-o", str(prof), "-m", "dagster_project.cli", "run"]
    cmd += ["--home", str(home), "--landing", str(landing), "--config", str(config)]
    with open(out / "noop.prof.log", "w") as log:
        subprocess.run(
            [*cmd, "--as-of", as_of], cwd=code.root, env=code.env, stdout=log, stderr=log
        )
    import pstats

    txt = out / "noop.prof.txt"
    with open(txt, "w") as f:
        pstats.Stats(str(prof), stream=f).sort_stats("cumulative").print_stats(40)
    return txt


def results_stem(results: Path, today: str, scale: int, commit: str) -> Path:
    """``<results>/<today>-scale<N>``, or, when that page exists (another run the same day),
    ``<today>-scale<N>-<commit>`` (then ``-2``, ``-3`` ...): a page is never overwritten."""
    stem = results / f"{today}-scale{scale}"
    if not stem.with_suffix(".md").exists():
        return stem
    short = "".join(c for c in commit.split()[0] if c.isalnum()) or "run"
    stem = results / f"{today}-scale{scale}-{short}"
    n = 2
    while stem.with_suffix(".md").exists():
        stem = results / f"{today}-scale{scale}-{short}-{n}"
        n += 1
    return stem


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM (timeout, kill) unwinds like Ctrl-C: the one-day files are removed on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    budget = Budget(args.max_minutes)
    root = args.out.resolve() / f"scale{args.scale}"
    root.mkdir(parents=True, exist_ok=True)
    lock = open(root / ".bench.lock", "w")  # noqa: SIM115 (held until the process exits)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise SystemExit(f"another benchmark is running on {root}") from None
    info = machine()
    say(f"machine: {info}")
    code = Code(args.code, args.out.resolve(), not args.no_bytecode_cache)
    info["code measured"] = f"{code.commit} ({code.root})"
    info["bytecode cache"] = "off" if args.no_bytecode_cache else "on (PYTHONPYCACHEPREFIX)"
    landing, config, gen = ensure_company(root, args.scale, args.seed, code)
    leftovers = remove_leftover_days(root)
    if leftovers:
        say(f"removed {len(leftovers)} files an interrupted benchmark had added: {leftovers}")
    set_memory_limit(config, args.memory_limit)
    tz = company_timezone(config)
    newest = message_days(landing)[-1]
    as_of = (newest + timedelta(days=args.runs)).isoformat()
    notes: list[str] = []
    series = {
        "plain": Series("plain", "plain pass: one DuckDB session, every landing file once"),
        "full": Series("full", "full rebuild: `quotaboard run` on an empty home"),
        "noop": Series("noop", "no-op: `quotaboard run` again, no new files"),
        "oneday": Series("oneday", "one-day: one more day of messages + an Opportunity delta"),
    }
    if gen is not None:
        gen_series = Series("generate", "`quotaboard generate` (not a target, for reference)")
        gen_series.runs.append(gen)
        series = {"generate": gen_series, **series}

    warm = warm_up(code)
    say(f"warm-up (imports, dbt parse when needed): {warm.wall_s:.1f}s")
    if warm.returncode != 0:
        raise SystemExit(f"the pipeline code does not import:\n{warm.stderr[-3000:]}")
    warm_series = Series("warm-up", "import the definitions (not a target)", [warm])
    series = {"warm-up": warm_series, **series}

    landing_rows = 0
    if "plain" not in skip:
        for k in range(args.runs):
            m, summary = plain_pass(landing, tz, args.memory_limit)
            landing_rows = summary["rows_read"]
            series["plain"].runs.append(m)
            series["plain"].rows.append(landing_rows)
            say(f"plain pass {k + 1}: {brief(m)}, {summary}")
            if not budget.allows(m.wall_s):
                break

    home = root / "home"
    if "full" not in skip or not (home / "published").exists():
        for k in range(args.runs):
            shutil.rmtree(home, ignore_errors=True)
            m = quotaboard_run(home, landing, config, as_of, code)
            series["full"].runs.append(m)
            series["full"].rows.append(rows_read(m) or landing_rows)
            say(f"full rebuild {k + 1}: {brief(m)}")
            if m.returncode != 0 or not budget.allows(m.wall_s):
                break

    if "noop" not in skip:
        for k in range(args.runs):
            m = quotaboard_run(home, landing, config, as_of, code)
            series["noop"].runs.append(m)
            series["noop"].rows.append(0)
            say(f"no-op run {k + 1}: {brief(m)}")
            if m.returncode != 0 or not budget.allows(m.wall_s):
                break
    if args.profile:
        txt = profile_noop(home, landing, config, as_of, root, code)
        say(f"no-op profile: {txt}")
        notes.append(f"cProfile of one no-op run: {txt} (not committed)")

    added_days = []
    try:
        if "oneday" not in skip:
            for k in range(args.runs):
                added = add_day(landing)
                added_days.append(added)
                record_added_days(root, added_days)
                m = quotaboard_run(home, landing, config, as_of, code)
                series["oneday"].runs.append(m)
                series["oneday"].rows.append(added.rows)
                say(
                    f"one-day run {k + 1} ({added.day}: {added.messages} messages, "
                    f"{added.opportunity_rows} opportunity rows): {brief(m)}"
                )
                if m.returncode != 0 or not budget.allows(m.wall_s):
                    break
    finally:
        for added in added_days:
            remove_added(added)
        (root / ADDED).unlink(missing_ok=True)

    for s in series.values():
        if s.name in ("full", "noop", "oneday") and s.runs and not step_timings(s.runs[0].stdout):
            notes.append(f"{s.name}: no per-step timings in the run's output")
        for m in s.runs:
            if m.returncode != 0:
                notes.append(
                    f"{s.name} run exited {m.returncode}; last lines of stderr: "
                    + " / ".join(m.stderr.strip().splitlines()[-5:])
                )
    loads = [ld for s in series.values() for m in s.runs for ld in (m.load_before, m.load_after)]
    if loads and max(ld[0] for ld in loads) > (os.cpu_count() or 1):
        notes.append(
            f"the 1-minute load average reached {max(ld[0] for ld in loads):.1f} on "
            f"{os.cpu_count()} cores: other processes shared the CPU, so wall times are "
            "inflated (compare the ratios, measured under the same conditions, more than the "
            "absolute times)"
        )
    params = {
        "scale": args.scale,
        "runs per measurement (K)": args.runs,
        "quick": args.quick,
        "seed": args.seed,
        "duckdb_memory_limit (settings.yml)": args.memory_limit or "null",
        "as_of": as_of,
        "landing": str(landing),
        "landing rows (plain pass)": f"{landing_rows:,}",
    }
    if gen is not None:
        params["generated"] = gen.stdout.strip().replace("\n", " ")
    today = date.today().isoformat()
    title = f"Quotaboard benchmark, scale {args.scale}, {today}"
    title += " (quick)" if args.quick else ""
    page = markdown(title=title, machine=info, params=params, series=series, notes=notes)
    print(page)
    args.results.mkdir(parents=True, exist_ok=True)
    stem = results_stem(args.results, today, args.scale, code.commit)
    stem.with_suffix(".md").write_text(page, encoding="utf-8")
    stem.with_suffix(".json").write_text(
        json.dumps(
            {
                "machine": info,
                "params": params,
                "series": {k: s.as_dict() for k, s in series.items()},
                "notes": notes,
            },
            indent=2,
            default=str,
        )
        + "\n",
        encoding="utf-8",
    )
    say(f"results: {stem.with_suffix('.md')}")
    failed = [s.name for s in series.values() if s.runs and not s.ok]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
