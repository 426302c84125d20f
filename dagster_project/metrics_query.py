"""``quotaboard metrics``: MetricFlow (``mf``) queries over the published marts.

MetricFlow needs three things: a dbt project root holding ``target/semantic_manifest.json``, a
dbt profile, and a database it can open. It reads

* the semantic manifest of ``dbt/`` (``dbt parse`` output, kept current by
  :func:`~dagster_project.defs.transform.project.ensure_manifest`): the semantic models and
  metrics of ``dbt/models/semantic/``;
* a **private copy of the published file**, ``<home>/semantic/quotaboard.duckdb``.

Why a copy: dbt-duckdb opens its database read-write, and a read-write DuckDB connection
locks the file for every other process, so ``mf`` on ``published/quotaboard.duckdb`` itself
would lock BI readers out. The working warehouse is no better: it is locked while the nightly
run writes, and after a failed run it holds numbers that were never published. The copy holds
exactly the published numbers; it is refreshed (temp file + rename) whenever the published
file changed (inode, size or modification time), and a lock file keeps two ``quotaboard
metrics`` of one home from opening it at once.

Layout of ``<home>/semantic/`` (MetricFlow's project root there; ``mf`` runs in it)::

    dbt_project.yml                  copy of dbt/dbt_project.yml
    profiles.yml                     profile ``quotaboard``, target ``duckdb`` -> the copy
    target/semantic_manifest.json    copy of the parsed project's semantic manifest
    <database>.duckdb                the copy (named after the manifest's database, so the
                                     relations ``"quotaboard"."marts"."fct_..."`` resolve)
    logs/metricflow.log              MetricFlow's log

The same semantic manifest is copied to ``dbt/target/semantic_manifest.json``, so that ``mf``
run in ``dbt/`` (with ``QUOTABOARD_WAREHOUSE_PATH`` pointing at the copy, docs/bi.md) finds it.

**Output.** A query (``mf query`` without ``--explain``) is run with ``--csv`` into a temporary
file, then printed by :func:`format_table` for people: rows sorted by the group-by columns in
the order they were named (unless ``--order`` was given: then in MetricFlow's order), money in
the corporate currency with thousands separators (``$1,234,567``), counts as integers,
attainments and other ratios as percentages (``87.3%``), never in scientific notation. A
metric's kind comes from the metric registry (``<metric>``, ``<metric>_actual``,
``<metric>_target`` carry the metric's unit) and the semantic manifest (ratio metrics, counted
measures). ``--csv FILE`` (or ``--csv -`` for standard output) writes the same sorted rows for
machines: plain decimal numbers at full precision (rounded only with ``--decimals``), dates
without a time of day, empty for null.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from dagster_project.atomic import copy_file_atomic
from dagster_project.run_lock import RunLockBusy, run_lock

SEMANTIC_DIR = "semantic"
LOCK_WAIT_SECONDS = 120.0


class MetricsQueryError(RuntimeError):
    """The query cannot run (no published file, no MetricFlow, ...): a message for the user."""


@dataclass(frozen=True)
class SemanticWorkspace:
    """``<home>/semantic/``: MetricFlow's project root for one home."""

    home: Path

    @property
    def root(self) -> Path:
        return self.home / SEMANTIC_DIR

    @property
    def published(self) -> Path:
        from dagster_project.resources import QuotaboardPaths

        return QuotaboardPaths(home_dir=str(self.home)).published_path

    @property
    def manifest(self) -> Path:
        return self.root / "target" / "semantic_manifest.json"

    @property
    def lock(self) -> Path:
        return self.root / ".metrics.lock"


def mf_executable() -> Path:
    """``mf`` of this environment (beside the running Python)."""
    mf = Path(sys.executable).parent / "mf"
    if mf.exists():
        return mf
    found = shutil.which("mf")
    if found is None:
        raise MetricsQueryError(
            "MetricFlow's `mf` command is not installed in this environment (dbt-metricflow)"
        )
    return Path(found)


def source_semantic_manifest() -> Path:
    """The semantic manifest of the dbt project, re-parsed first if any project file changed."""
    from dagster_project.defs.transform.project import dbt_project

    project = dbt_project()
    path = Path(project.manifest_path).with_name("semantic_manifest.json")
    if not path.exists():
        raise MetricsQueryError(f"dbt parse wrote no semantic manifest at {path}")
    return path


def publish_dbt_semantic_manifest(source_manifest: Path) -> Path:
    """Copy the semantic manifest to ``dbt/target/semantic_manifest.json``, where ``mf`` run
    in ``dbt/`` looks for it (docs/bi.md, "mf in dbt/"); a no-op when it is already there."""
    from dagster_project.defs.transform.project import DBT_PROJECT_DIR

    target = DBT_PROJECT_DIR / "target" / "semantic_manifest.json"
    try:
        if target.read_bytes() == source_manifest.read_bytes():
            return target
    except OSError:
        pass
    target.parent.mkdir(parents=True, exist_ok=True)
    copy_file_atomic(source_manifest, target)
    return target


def manifest_database(semantic_manifest: Path) -> str:
    """The database name the semantic models' relations use (the working file's stem)."""
    data = json.loads(semantic_manifest.read_text(encoding="utf-8"))
    names = {
        (model.get("node_relation") or {}).get("database")
        for model in data.get("semantic_models", [])
    }
    names.discard(None)
    if len(names) != 1:
        raise MetricsQueryError(
            f"{semantic_manifest}: expected the semantic models in one database, found "
            f"{sorted(names) or 'none'}"
        )
    return names.pop()


def _signature(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"inode": st.st_ino, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _profiles_yml(database_path: Path) -> str:
    return (
        "# Written by `quotaboard metrics`: MetricFlow reads the private copy of the "
        "published file.\n"
        "quotaboard:\n"
        "  target: duckdb\n"
        "  outputs:\n"
        "    duckdb:\n"
        "      type: duckdb\n"
        f"      path: {json.dumps(str(database_path))}\n"
        "      threads: 1\n"
    )


def prepare_workspace(home: Path) -> SemanticWorkspace:
    """Bring ``<home>/semantic/`` up to date with the published file and the dbt project.

    The caller holds the workspace lock. Raises :class:`MetricsQueryError` when nothing was
    published yet."""
    ws = SemanticWorkspace(Path(home).resolve())
    if not ws.published.exists():
        raise MetricsQueryError(
            f"no published file at {ws.published}: run `quotaboard run --home {ws.home}` first"
        )
    from dagster_project.defs.transform.project import DBT_PROJECT_DIR

    ws.manifest.parent.mkdir(parents=True, exist_ok=True)
    source_manifest = source_semantic_manifest()
    copy_file_atomic(source_manifest, ws.manifest)
    publish_dbt_semantic_manifest(source_manifest)
    copy_file_atomic(DBT_PROJECT_DIR / "dbt_project.yml", ws.root / "dbt_project.yml")

    copy = ws.root / f"{manifest_database(ws.manifest)}.duckdb"
    (ws.root / "profiles.yml").write_text(_profiles_yml(copy), encoding="utf-8")
    signature_file = ws.root / ".published-signature.json"
    signature = _signature(ws.published)
    try:
        current = json.loads(signature_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        current = None
    if current != signature or not copy.exists():
        copy_file_atomic(ws.published, copy)
        Path(f"{copy}.wal").unlink(missing_ok=True)
        signature_file.write_text(json.dumps(signature), encoding="utf-8")
    return ws


def mf_environment(ws: SemanticWorkspace) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DBT_PROFILES_DIR=str(ws.root), DBT_PROJECT_DIR=str(ws.root))
    for name in ("DBT_TARGET_PATH", "DBT_PROFILE", "DBT_TARGET"):
        env.pop(name, None)
    return env


def run_mf(home: Path, mf_args: list[str], *, capture: bool = False) -> subprocess.CompletedProcess:
    """Run ``mf <mf_args>`` on the home's published numbers (see the module docstring).

    A query (``query`` without ``--explain``) prints a formatted, sorted table (or writes CSV,
    see :func:`run_query`) unless ``capture`` asks for MetricFlow's own output: stdout and
    stderr are then returned instead of printed."""
    if not capture and mf_args[:1] == ["query"] and "--explain" not in mf_args:
        return run_query(home, mf_args)
    mf = mf_executable()
    ws = SemanticWorkspace(Path(home).resolve())
    try:
        with run_lock(ws.lock, timeout=LOCK_WAIT_SECONDS, owner="quotaboard metrics"):
            prepare_workspace(ws.home)
            return subprocess.run(
                [str(mf), *mf_args],
                cwd=ws.root,
                env=mf_environment(ws),
                capture_output=capture,
                text=True,
                check=False,
            )
    except RunLockBusy as busy:
        raise MetricsQueryError(
            f"another `quotaboard metrics` of this home is still running ({busy.holder})"
        ) from None


# --------------------------------------------------------------------------------------------
# Query output: sorted rows, numbers written for people (or plain, for machines)


@dataclass(frozen=True)
class QueryRequest:
    """What ``mf query`` arguments ask for, as far as the output is concerned."""

    metrics: tuple[str, ...]
    group_by: tuple[str, ...]
    ordered: bool  # --order given: keep MetricFlow's row order
    csv: str | None  # a file, "-" (standard output) or None (a table for people)
    decimals: int | None
    mf_args: tuple[str, ...]  # the arguments without --csv and --decimals


def _option(args: Sequence[str], name: str) -> str | None:
    for i, arg in enumerate(args[:-1]):
        if arg == name:
            return args[i + 1]
    return None


def parse_query(mf_args: Sequence[str]) -> QueryRequest:
    """Split ``mf query`` arguments into MetricFlow's part and the output options."""
    rest: list[str] = []
    skip = False
    for i, arg in enumerate(mf_args):
        if skip:
            skip = False
            continue
        if arg in ("--csv", "--decimals") and i + 1 < len(mf_args):
            skip = True
            continue
        rest.append(arg)
    decimals = _option(mf_args, "--decimals")

    def _names(option: str) -> tuple[str, ...]:
        value = _option(mf_args, option) or ""
        return tuple(n.strip() for n in value.split(",") if n.strip())

    return QueryRequest(
        metrics=_names("--metrics"),
        group_by=_names("--group-by"),
        ordered=_option(mf_args, "--order") is not None,
        csv=_option(mf_args, "--csv"),
        decimals=int(decimals) if decimals is not None else None,
        mf_args=tuple(rest),
    )


MONEY, COUNT, RATIO, NUMBER = "money", "count", "ratio", "number"


def metric_kinds(metrics: Sequence[str], semantic_manifest: Path | None) -> dict[str, str]:
    """How each metric's numbers are written: money, count, ratio or number.

    ``<metric>``, ``<metric>_actual`` and ``<metric>_target`` of a registry metric carry its
    unit (currency: money); a ratio metric of the manifest (``attainment``,
    ``<metric>_attainment``, ``weighted_attainment``) is a ratio; a metric over a counted
    measure (``credit_lines``, ``plan_rows``) a count; the rest (``actual``, ``target``,
    ``credited_amount``: they add up whatever metrics the rows hold) a plain number."""
    from dagster_project.metric_registry import registry

    units = {name: m.unit for name, m in registry().items()}
    manifest_metrics: dict[str, dict] = {}
    measures: dict[str, dict] = {}
    if semantic_manifest is not None and semantic_manifest.exists():
        data = json.loads(semantic_manifest.read_text(encoding="utf-8"))
        manifest_metrics = {m["name"]: m for m in data.get("metrics", [])}
        for model in data.get("semantic_models", []):
            for measure in model.get("measures", []):
                measures[measure["name"]] = measure
    kinds = {}
    for name in metrics:
        base = re.sub(r"_(actual|target)$", "", name)
        definition = manifest_metrics.get(name, {})
        measure = measures.get(
            ((definition.get("type_params") or {}).get("measure") or {}).get("name", ""), {}
        )
        if definition.get("type") == "ratio" or name.endswith("attainment"):
            kinds[name] = RATIO
        elif base in units:
            kinds[name] = MONEY if units[base] == "currency" else COUNT
        elif measure.get("agg") in ("count", "count_distinct") or measure.get("name", "").endswith(
            "_count"
        ):
            kinds[name] = COUNT
        else:
            kinds[name] = NUMBER
    return kinds


def corporate_currency(database: Path) -> str | None:
    """``settings.yml`` ``corporate_currency`` of the newest published run (from
    ``fct_config_changes``), or None when the file does not say."""
    import duckdb

    try:
        with duckdb.connect(str(database), read_only=True) as conn:
            row = conn.execute(
                """
                select new_value, change from marts.fct_config_changes
                where file = 'settings.yml' and column_name = 'value'
                  and row_key = 'corporate_currency'
                order by published_at desc, run_id desc
                limit 1
                """
            ).fetchone()
    except duckdb.Error:
        return None
    if row is None or row[1] == "removed" or row[0] in (None, "", "null", "NULL"):
        return None
    return str(row[0]).strip().upper()


CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}


def _number(text: str) -> float | None:
    if text is None or text.strip() in ("", "None", "nan", "NaN"):
        return None
    try:
        return float(text)
    except ValueError:
        return None


def plain_number(value: float, decimals: int | None = None) -> str:
    """A number for machines: positional notation, never ``3.54234e+07``; full precision
    (Python's shortest round-trip digits) unless ``decimals`` rounds it."""
    if decimals is not None:
        return f"{value:.{decimals}f}"
    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def human_number(value: float | None, kind: str, currency: str | None, decimals: int | None) -> str:
    """A number for people: ``$1,234,567``, ``1,204``, ``87.3%``, ``1,234.57``."""
    if value is None or math.isnan(value):
        return ""
    if kind == COUNT:
        return f"{round(value):,}"
    if kind == RATIO:
        return f"{value * 100:,.{1 if decimals is None else decimals}f}%"
    if kind == MONEY:
        digits = 0 if decimals is None else decimals
        text = f"{abs(value):,.{digits}f}"
        code = (currency or "").upper()
        symbol = CURRENCY_SYMBOLS.get(code)
        text = f"{symbol}{text}" if symbol else (f"{code} {text}" if code else text)
        return f"-{text}" if round(value, digits) < 0 else text
    return f"{value:,.{2 if decimals is None else decimals}f}"


_PERIOD = re.compile(r"^FY(\d{4})(?:-(Q|M)(\d{1,2}))?$")
_MIDNIGHT = " 00:00:00"


def _clean_dimension(text: str) -> str:
    return text[: -len(_MIDNIGHT)] if text.endswith(_MIDNIGHT) else text


def _sort_key(text: str) -> tuple:
    """Nulls last; fiscal periods as year, quarters, months; numbers numerically."""
    if text in ("", "None"):
        return (3,)
    period = _PERIOD.match(text)
    if period:
        year, kind, n = period.groups()
        return (0, int(year), {None: 0, "Q": 1, "M": 2}[kind], int(n or 0), text)
    number = _number(text)
    if number is not None and not math.isnan(number):
        return (1, number, text)
    return (2, text)


def shape_rows(
    header: list[str], rows: list[list[str]], request: QueryRequest
) -> tuple[list[str], list[list[str]]]:
    """Columns in the order asked (group-by, then metrics), dimension values without a
    midnight time of day, rows sorted by the group-by columns (unless ``--order`` was given)."""
    dimensions = [c for c in request.group_by if c in header]
    metrics = [c for c in request.metrics if c in header]
    order = dimensions + [c for c in header if c not in dimensions + metrics] + metrics
    index = [header.index(c) for c in order]
    metric_columns = set(request.metrics)
    shaped = [
        [
            row[i] if order[j] in metric_columns else _clean_dimension(row[i])
            for j, i in enumerate(index)
        ]
        for row in rows
    ]
    if not request.ordered:
        keys = [order.index(c) for c in request.group_by if c in order]
        shaped.sort(key=lambda row: tuple(_sort_key(row[k]) for k in keys))
    return order, shaped


def format_table(
    header: list[str],
    rows: list[list[str]],
    kinds: dict[str, str],
    currency: str | None,
    decimals: int | None = None,
) -> str:
    """The rows as an aligned text table: dimensions left, numbers right."""
    cells = [
        [
            human_number(_number(value), kinds[name], currency, decimals)
            if name in kinds
            else value
            for name, value in zip(header, row, strict=True)
        ]
        for row in rows
    ]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(header)]

    def _line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if name in kinds else v.ljust(w)
            for name, v, w in zip(header, values, widths, strict=True)
        ).rstrip()

    lines = [_line(header), _line(["-" * w for w in widths])]
    lines += [_line(r) for r in cells]
    return "\n".join(lines) + "\n"


def format_csv(
    header: list[str], rows: list[list[str]], metrics: Sequence[str], decimals: int | None
) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        out = []
        for name, value in zip(header, row, strict=True):
            number = _number(value) if name in metrics else None
            if name in metrics:
                out.append("" if number is None else plain_number(number, decimals))
            else:
                out.append("" if value == "None" else value)
        writer.writerow(out)
    return buffer.getvalue()


_SPINNER = re.compile(r"^\s*(\S\s+Initiating query\W*)?$")


def _without_spinner(text: str) -> str:
    """MetricFlow's output without its progress spinner (captured, each frame is a line)."""
    lines = text.splitlines(keepends=True)
    while lines and _SPINNER.match(lines[0]):
        lines.pop(0)
    return "".join(lines)


def run_query(
    home: Path, mf_args: list[str], *, out: Callable[[str], None] | None = None
) -> subprocess.CompletedProcess:
    """``mf query`` into a temporary CSV, then the rows sorted and formatted (module docstring).

    MetricFlow's own messages are shown only when it fails."""
    write = out or (lambda text: print(text, end="", flush=True))
    request = parse_query(mf_args)
    mf = mf_executable()
    ws = SemanticWorkspace(Path(home).resolve())
    try:
        with run_lock(ws.lock, timeout=LOCK_WAIT_SECONDS, owner="quotaboard metrics"):
            prepare_workspace(ws.home)
            with tempfile.TemporaryDirectory(prefix="quotaboard-metrics-") as tmp:
                result_csv = Path(tmp) / "result.csv"
                args = [str(mf), *request.mf_args, "--csv", str(result_csv)]
                proc = subprocess.run(
                    args,
                    cwd=ws.root,
                    env=mf_environment(ws),
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if proc.returncode != 0 or not result_csv.exists():
                    sys.stdout.write(_without_spinner(proc.stdout))
                    sys.stderr.write(_without_spinner(proc.stderr))
                    return subprocess.CompletedProcess(args, proc.returncode or 1)
                with result_csv.open(newline="", encoding="utf-8") as f:
                    table = list(csv.reader(f))
            database = ws.root / f"{manifest_database(ws.manifest)}.duckdb"
            currency = corporate_currency(database)
            kinds = metric_kinds(request.metrics, ws.manifest)
    except RunLockBusy as busy:
        raise MetricsQueryError(
            f"another `quotaboard metrics` of this home is still running ({busy.holder})"
        ) from None
    header, rows = (table[0], table[1:]) if table else ([], [])
    header, rows = shape_rows(header, rows, request)
    if request.csv is not None:
        text = format_csv(header, rows, request.metrics, request.decimals)
        if request.csv == "-":
            write(text)
        else:
            Path(request.csv).write_text(text, encoding="utf-8")
            write(f"wrote {len(rows)} rows to {request.csv}\n")
    else:
        kinds = {name: kinds.get(name, NUMBER) for name in request.metrics if name in header}
        write(format_table(header, rows, kinds, currency, request.decimals))
    return subprocess.CompletedProcess(args, 0)


def query_args(
    metrics: list[str],
    group_by: list[str] | None = None,
    where: list[str] | None = None,
    order: list[str] | None = None,
    limit: int | None = None,
    csv: Path | None = None,
    explain: bool = False,
) -> list[str]:
    """The ``mf query`` arguments for a metrics query."""
    args = ["query", "--metrics", ",".join(metrics)]
    if group_by:
        args += ["--group-by", ",".join(group_by)]
    for clause in where or []:
        args += ["--where", clause]
    if order:
        args += ["--order", ",".join(order)]
    if limit is not None:
        args += ["--limit", str(limit)]
    if csv is not None:  # "-": standard output
        args += ["--csv", "-" if str(csv) == "-" else str(Path(csv).resolve())]
    if explain:
        args.append("--explain")
    return args
