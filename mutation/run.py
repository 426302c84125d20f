"""The mutation check (`make mutate`, docs/testing.md): do the fast tests catch a careless edit?

Each mutant in ``mutation/mutants.yml`` is one small edit of one file (a comparison flipped, a
boundary moved, a filter dropped, a sort reversed, a rule's percentage ignored): the exact
original text, which must occur exactly once in the file, and its replacement. For each
mutant this script copies the repository (the files git knows, plus untracked files git does
not ignore) into a temporary folder, applies the edit there, and runs the fast suite
(``pytest -m "not slow" -x``) in that copy, the tests most likely to fail first. A failing
suite kills the mutant; a passing one lets it survive. The repository itself is never edited.

    python mutation/run.py [--jobs N] [--only ID[,ID]] [--out benchmarks/results/mutation.md]

Exit status: 0 when every mutant is valid and the unmutated copy passes the fast suite
(the baseline), whatever the kill rate; 2 when a mutant no longer applies or the baseline
fails (then no mutant result means anything).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
MUTANTS = Path(__file__).resolve().parent / "mutants.yml"
DEFAULT_OUT = REPO / "benchmarks" / "results" / "mutation.md"

# Run first: the test files that kill most mutants, so a killed mutant costs little. Every
# other test file follows in name order (pytest keeps the order of the files it is given).
KILLERS_FIRST = [
    "tests/test_config.py",
    "tests/test_publish.py",
    "tests/test_faults.py",
    "tests/test_period_close.py",
    "tests/test_run_record.py",
    "tests/test_pipeline.py",
]
PYTEST = ["-m", "not slow", "-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
# the folders a copy never needs (git-ignored anyway; listed so a stray untracked file in
# them is not copied either)
SKIP_DIRS = {".venv", ".git", "data", "dbt/target", "dbt/logs", "dbt/dbt_packages"}


@dataclass
class Mutant:
    id: str
    file: str
    original: str
    replacement: str
    rule: str
    what: str = ""


@dataclass
class Result:
    mutant: Mutant
    status: str = "pending"  # killed, survived, timeout, error
    killer: str = ""
    seconds: float = 0.0
    log: str = field(default="", repr=False)


def load_mutants(path: Path = MUTANTS) -> list[Mutant]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    mutants = [Mutant(**m) for m in data["mutants"]]
    ids = [m.id for m in mutants]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise SystemExit(f"mutants.yml: duplicate ids {dup}")
    return mutants


def check_mutants(mutants: list[Mutant], root: Path = REPO) -> list[str]:
    """Every problem that makes a mutant stale: its file is gone, its original text is not
    in the file exactly once, or its replacement changes nothing."""
    problems = []
    for m in mutants:
        f = root / m.file
        if not f.is_file():
            problems.append(f"{m.id}: {m.file} does not exist")
            continue
        n = f.read_text(encoding="utf-8").count(m.original)
        if n != 1:
            problems.append(
                f"{m.id}: the original text occurs {n} times in {m.file} (must be exactly once)"
                f"\n    original: {m.original!r}"
            )
        if m.original == m.replacement:
            problems.append(f"{m.id}: the replacement equals the original")
    return problems


def repo_files(root: Path = REPO) -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        check=True,
        capture_output=True,
    ).stdout.decode()
    files = []
    for rel in out.split("\0"):
        if not rel or any(rel == d or rel.startswith(d + "/") for d in SKIP_DIRS):
            continue
        if (root / rel).is_file():  # deleted in the work tree: not part of the copy
            files.append(rel)
    return files


def make_copy(files: list[str], dest: Path) -> None:
    for rel in files:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, target, follow_symlinks=False)
    # the environment is shared, never copied or rebuilt per mutant
    (dest / ".venv").symlink_to(REPO / ".venv", target_is_directory=True)


def copy_env(copy: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("QUOTABOARD_", "DBT_", "PYTEST"))
    }
    env["PYTHONPATH"] = str(copy)  # the copy's package, not the editable install's
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["VIRTUAL_ENV"] = str(REPO / ".venv")
    env["PATH"] = f"{REPO / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["TMPDIR"] = str(copy.parent / "tmp")
    return env


def python() -> str:
    venv = REPO / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def check_imports_copy(copy: Path, env: dict[str, str]) -> None:
    """The copy's tests must import the copy's code (the package is installed editable from
    the repository): fail loudly when they would not."""
    out = subprocess.run(
        [
            python(),
            "-c",
            "import dagster_project, tests.oracle.reference as r; "
            "from dagster_project.defs.transform.project import DBT_PROJECT_DIR; "
            "print(dagster_project.__file__); print(r.__file__); print(DBT_PROJECT_DIR)",
        ],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
    )
    paths = out.stdout.split()
    if out.returncode != 0 or len(paths) != 3:
        raise RuntimeError(f"cannot import the copy's package:\n{out.stdout}{out.stderr}")
    for p in paths:
        if not Path(p).resolve().is_relative_to(copy.resolve()):
            raise RuntimeError(f"the copy imports {p}, outside the copy {copy}")


def test_files(copy: Path) -> list[str]:
    """Every test file of the copy, the likely killers first."""
    every = sorted(p.relative_to(copy).as_posix() for p in (copy / "tests").rglob("test_*.py"))
    first = [k for k in KILLERS_FIRST if k in every]
    return first + [f for f in every if f not in first]


FAILED_RE = re.compile(r"^(FAILED|ERROR) (\S+)", re.MULTILINE)
UNIT_FAIL_RE = re.compile(r"(?:Failure|Error) in unit_test (\S+)")
UNIT_TEST_ID = "tests/test_pipeline.py::test_dbt_unit_tests"


def pipeline_as_of(copy: Path) -> str:
    """The as_of the fast suite's sample run (and its dbt unit tests) use."""
    text = (copy / "tests" / "test_pipeline.py").read_text(encoding="utf-8")
    m = re.search(r'^AS_OF = "(\d{4}-\d{2}-\d{2})"', text, re.M)
    return m.group(1) if m else "2026-11-23"


def build_reference(files: list[str], workdir: Path, warehouse: Path | None = None) -> Path:
    """The reference for the quick stage: the working database of one unmutated sample run
    (the relations a dbt unit test's inputs must exist as: dbt reads their columns) and dbt's
    parse of the unmutated project, so each mutant's dbt re-parses only the file it changed.
    Built once (or given: --reference-warehouse), copied for each mutant. Returns the folder."""
    ref = workdir / "reference"
    copy = ref / "repo"
    make_copy(files, copy)
    (ref / "tmp").mkdir()
    env = copy_env(copy)
    if warehouse is None:
        home = ref / "home"
        out = subprocess.run(
            [
                python(),
                "-m",
                "dagster_project.cli",
                "run",
                "--landing",
                str(copy / "seeds" / "landing"),
                "--config",
                str(copy / "seeds" / "config"),
                "--home",
                str(home),
                "--as-of",
                pipeline_as_of(copy),
            ],
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
        )
        warehouse = home / "warehouse" / "quotaboard.duckdb"
        if out.returncode != 0 or not warehouse.exists():
            raise RuntimeError(
                f"the reference run failed:\n{out.stdout[-3000:]}{out.stderr[-3000:]}"
            )
    shutil.copy2(warehouse, ref / UNIT_DB)
    shutil.copy2(warehouse, copy / "dbt" / UNIT_DB)
    out = subprocess.run(
        [dbt(), "parse", "--vars", f"as_of: '{pipeline_as_of(copy)}'"],
        cwd=copy / "dbt",
        env=unit_env(env, ref / "unit-target"),
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"dbt parse of the reference failed:\n{out.stdout[-3000:]}")
    return ref


UNIT_DB = "mutation-unit.duckdb"


def dbt() -> str:
    return str(REPO / ".venv" / "bin" / "dbt")


def unit_env(env: dict[str, str], target: Path) -> dict[str, str]:
    # A relative warehouse path (the same text in every copy): dbt's partial parse is kept
    # only while the profile, including this path, is unchanged.
    return {
        **env,
        "QUOTABOARD_WAREHOUSE_PATH": UNIT_DB,
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(target),
    }


def unit_selector(mutant: Mutant) -> str:
    """The unit tests a mutant can fail: a dbt unit test runs its model's SQL on fixed inputs,
    so only the mutated model's own tests see a model's edit; a macro's edit, all of them."""
    path = Path(mutant.file)
    if path.parts[:2] == ("dbt", "models") and path.suffix == ".sql":
        return f"test_type:unit,{path.stem}"
    return "test_type:unit"


def unit_stage(
    copy: Path, env: dict[str, str], ref: Path, mutant: Mutant, timeout: float
) -> str | None:
    """The dbt unit tests of the mutated model (what test_dbt_unit_tests runs), on a copy of
    the reference working database: the failing unit test's id, or None when all pass."""
    target = copy.parent / "unit-target"
    target.mkdir()
    shutil.copy2(ref / "unit-target" / "partial_parse.msgpack", target / "partial_parse.msgpack")
    shutil.copy2(ref / UNIT_DB, copy / "dbt" / UNIT_DB)
    proc = subprocess.run(
        [
            dbt(),
            "test",
            "--select",
            unit_selector(mutant),
            "--vars",
            f"as_of: '{pipeline_as_of(copy)}'",
        ],
        cwd=copy / "dbt",
        env=unit_env(env, target),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    (copy.parent / "unit.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    m = UNIT_FAIL_RE.search(proc.stdout)
    if proc.returncode == 0 or m is None:
        return None  # no unit test failed (anything else: the fast suite decides)
    return f"{UNIT_TEST_ID} (unit test {m.group(1)})"


def first_failure(log: str) -> str:
    m = FAILED_RE.search(log)
    if m:
        return m.group(2)
    if "no tests ran" in log or "error" in log.lower():
        return "(pytest: " + (log.strip().splitlines() or ["no output"])[-1][:120] + ")"
    return "(unknown)"


def run_one(
    mutant: Mutant | None,
    files: list[str],
    workdir: Path,
    timeout: float,
    keep: bool,
    ref: Path | None = None,
    stage: str = "suite",
) -> Result:
    """One mutant (None: the baseline) in a fresh copy. ``stage`` "quick": only the quick
    stage (status killed, or pending when no unit test fails); "suite": the fast suite."""
    m = mutant or Mutant("baseline", "", "", "", "none", "the unmutated repository")
    res = Result(m)
    t0 = time.monotonic()
    box = Path(tempfile.mkdtemp(prefix=f"{m.id}-", dir=workdir))
    copy = box / "repo"
    try:
        make_copy(files, copy)
        (box / "tmp").mkdir()
        if mutant is not None:
            f = copy / mutant.file
            text = f.read_text(encoding="utf-8")
            if text.count(mutant.original) != 1:
                raise RuntimeError(f"{mutant.id}: original text not found exactly once")
            f.unlink()  # a new file, never an edit through a shared inode
            f.write_text(text.replace(mutant.original, mutant.replacement), encoding="utf-8")
        env = copy_env(copy)
        if stage == "quick":  # dbt alone: no Python of the copy runs
            assert mutant is not None and ref is not None
            killer = unit_stage(copy, env, ref, mutant, timeout)
            if killer:
                res.status, res.killer = "killed", killer
            return res
        check_imports_copy(copy, env)
        args = [python(), "-m", "pytest", *PYTEST, *test_files(copy)]
        try:
            proc = subprocess.run(
                args,
                cwd=copy,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            res.log = proc.stdout + proc.stderr
            if proc.returncode == 0:
                res.status = "survived"
            elif proc.returncode == 1:
                res.status = "killed"
                res.killer = first_failure(res.log)
            else:
                # 2-5: interrupted, internal error, usage error, no tests: not a test's verdict
                res.status = "error"
                res.killer = first_failure(res.log)
        except subprocess.TimeoutExpired as e:
            out = e.stdout or b""
            res.log = out.decode() if isinstance(out, bytes) else out
            res.status = "timeout"
            res.killer = f"(no verdict within {timeout:.0f} s)"
    except Exception as e:  # noqa: BLE001 - reported as the mutant's result
        res.status = "error"
        res.killer = f"({type(e).__name__}: {e})"
    finally:
        res.seconds = time.monotonic() - t0
        if keep and res.log:
            (box / "pytest.log").write_text(res.log, encoding="utf-8")
        else:
            shutil.rmtree(box, ignore_errors=True)
    return res


def kill_rate(results: list[Result]) -> tuple[int, int, float]:
    judged = [r for r in results if r.status in ("killed", "survived", "timeout")]
    killed = sum(r.status in ("killed", "timeout") for r in judged)
    return killed, len(judged), (100.0 * killed / len(judged)) if judged else 0.0


def git_commit() -> str:
    out = subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO, capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=REPO,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return out.stdout.strip() + (" (with uncommitted changes)" if dirty else "")


def markdown(
    results: list[Result], baseline: Result | None, wall: float, jobs: int, only: bool
) -> str:
    killed, judged, rate = kill_rate(results)
    lines = [
        "# Mutation check",
        "",
        "Written by `make mutate` (`mutation/run.py`; how it works and how to add a mutant:",
        "docs/testing.md). Each mutant is one small edit from `mutation/mutants.yml`, applied to",
        "a temporary copy of the repository; the fast suite (`pytest -m 'not slow' -x`) kills it",
        "when a test fails.",
        "",
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- commit: {git_commit()}",
        f"- machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}; --jobs {jobs}",
        f"- wall time: {wall / 60:.1f} min for {len(results)} mutants"
        + (f" + the baseline ({baseline.seconds / 60:.1f} min)" if baseline else ""),
        "- baseline (the unmutated copy through the fast suite): "
        + (
            "not run"
            if baseline is None
            else "passed"
            if baseline.status == "survived"
            else f"FAILED ({baseline.killer})"
        ),
        f"- **kill rate: {killed}/{judged} = {rate:.1f} %**"
        + (" (a subset: --only)" if only else ""),
        "",
        "| mutant | rule | file | result | killed by | s |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        m = r.mutant
        killer = r.killer.replace("|", "\\|")
        lines.append(
            f"| `{m.id}` | {m.rule} | `{m.file}` | {r.status} | {killer} | {r.seconds:.0f} |"
        )
    survivors = [r for r in results if r.status == "survived"]
    lines += ["", "## Survivors", ""]
    if survivors:
        lines.append("Each is named in docs/testing.md with why it survives.")
        lines.append("")
        for r in survivors:
            lines.append(f"- `{r.mutant.id}`: {r.mutant.what}")
    else:
        lines.append("None.")
    errors = [r for r in results if r.status == "error"]
    if errors:
        lines += ["", "## Errors (no verdict; not counted)", ""]
        lines += [f"- `{r.mutant.id}`: {r.killer}" for r in errors]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    ap.add_argument("--only", help="comma-separated mutant ids (default: all)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the markdown result")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per mutant")
    ap.add_argument("--no-baseline", action="store_true", help="skip the unmutated run")
    ap.add_argument(
        "--baseline-only", action="store_true", help="run only the unmutated copy, no mutant"
    )
    ap.add_argument(
        "--no-quick",
        action="store_true",
        help="skip the quick stage (dbt unit tests alone before the suite, for dbt mutants)",
    )
    ap.add_argument(
        "--reference-warehouse",
        type=Path,
        help="the working database of an unmutated sample run to reuse (skips that run)",
    )
    ap.add_argument("--keep", action="store_true", help="keep each copy and its pytest log")
    ap.add_argument("--list", action="store_true", help="check and list the mutants, run none")
    args = ap.parse_args(argv)

    mutants = load_mutants()
    problems = check_mutants(mutants)
    if problems:
        print("stale mutants (fix mutation/mutants.yml):", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        return 2
    if args.only:
        wanted = [i.strip() for i in args.only.split(",") if i.strip()]
        unknown = sorted(set(wanted) - {m.id for m in mutants})
        if unknown:
            print(f"unknown mutant ids: {', '.join(unknown)}", file=sys.stderr)
            return 2
        mutants = [m for m in mutants if m.id in wanted]
    if args.baseline_only:
        workdir = Path(tempfile.mkdtemp(prefix="quotaboard-mutate-"))
        try:
            r = run_one(None, repo_files(), workdir, args.timeout, args.keep)
        finally:
            if not args.keep:
                shutil.rmtree(workdir, ignore_errors=True)
        verdict = "passed" if r.status == "survived" else f"FAILED {r.killer}"
        print(f"baseline: {verdict} ({r.seconds:.0f}s)")
        if r.status != "survived":
            print(r.log[-3000:], file=sys.stderr)
        return 0 if r.status == "survived" else 2
    if args.list:
        for m in mutants:
            print(f"{m.id:40} {m.rule:28} {m.file}")
        print(f"{len(mutants)} mutants, all valid")
        return 0

    files = repo_files()
    workdir = Path(tempfile.mkdtemp(prefix="quotaboard-mutate-"))
    print(
        f"{len(mutants)} mutants, --jobs {args.jobs}, copies under {workdir}"
        + ("" if args.no_baseline else "; the unmutated baseline runs before the suite phase"),
        flush=True,
    )
    t0 = time.monotonic()
    lock = threading.Lock()
    results: dict[str, Result] = {}
    baseline: Result | None = None

    def report(r: Result) -> None:
        with lock:
            done = sum(1 for x in results.values() if x.status != "pending")
            print(
                f"[{done}/{len(mutants)}] {r.mutant.id:40} {r.status:9} "
                f"{r.seconds:5.0f}s  {r.killer}",
                flush=True,
            )

    for m in mutants:
        results[m.id] = Result(m)
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            # Phase 1, the quick stage: each dbt mutant's own unit tests (seconds each).
            quick = [m for m in mutants if m.file.startswith("dbt/")] if not args.no_quick else []
            quick_seconds: dict[str, float] = {}
            if quick:
                print("building the quick stage's reference (one sample run)", flush=True)
                ref = build_reference(files, workdir, args.reference_warehouse)
                futures = [
                    pool.submit(run_one, m, files, workdir, args.timeout, args.keep, ref, "quick")
                    for m in quick
                ]
                for fut in concurrent.futures.as_completed(futures):
                    r = fut.result()
                    if r.status == "pending":
                        quick_seconds[r.mutant.id] = r.seconds
                        print(f"  {r.mutant.id}: no unit test fails; the fast suite decides")
                        continue
                    results[r.mutant.id] = r
                    report(r)
            # Phase 2, the fast suite: the baseline, then every mutant still undecided.
            base_future = None
            if not args.no_baseline:
                base_future = pool.submit(run_one, None, files, workdir, args.timeout, args.keep)
            futures = [
                pool.submit(run_one, m, files, workdir, args.timeout, args.keep)
                for m in mutants
                if results[m.id].status == "pending"
            ]
            for fut in concurrent.futures.as_completed(
                [*([base_future] if base_future else []), *futures]
            ):
                r = fut.result()
                if fut is base_future:
                    baseline = r
                    verdict = "passed" if r.status == "survived" else f"FAILED {r.killer}"
                    print(f"baseline: {verdict} ({r.seconds:.0f}s)", flush=True)
                    if r.status != "survived":
                        print(r.log[-3000:], file=sys.stderr)
                    continue
                r.seconds += quick_seconds.get(r.mutant.id, 0.0)
                results[r.mutant.id] = r
                report(r)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    wall = time.monotonic() - t0
    ordered = [results[m.id] for m in mutants]
    killed, judged, rate = kill_rate(ordered)
    print()
    print(f"{'mutant':40} {'result':9} killed by")
    for r in ordered:
        print(f"{r.mutant.id:40} {r.status:9} {r.killer}")
    print(f"\nkill rate: {killed}/{judged} = {rate:.1f} %  (wall time {wall / 60:.1f} min)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        markdown(ordered, baseline, wall, args.jobs, bool(args.only)), encoding="utf-8"
    )
    args.out.with_suffix(".json").write_text(
        json.dumps(
            {
                "wall_seconds": round(wall),
                "jobs": args.jobs,
                "baseline": baseline.status if baseline else None,
                "kill_rate": round(rate, 1),
                "results": [
                    {
                        "id": r.mutant.id,
                        "rule": r.mutant.rule,
                        "status": r.status,
                        "killer": r.killer,
                        "seconds": round(r.seconds),
                    }
                    for r in ordered
                ],
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"written: {args.out}")
    if baseline is not None and baseline.status != "survived":
        print("the unmutated baseline failed: the results mean nothing", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
