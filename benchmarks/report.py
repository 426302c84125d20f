"""The benchmark's results as a Markdown page (and the numbers behind it as JSON)."""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field

from benchmarks.proctree import Measurement

GB = 1e9 / 2**20  # MiB per GB: the memory target is stated in decimal GB (10^9 bytes)
STEP_LINE = re.compile(r"^\s+(?:ok|warn|FAILED)\s+(\S+)\s+([0-9.]+)s\b")
DEFS_LINE = re.compile(r"definitions loaded in ([0-9.]+)s")
PUBLISHED_LINE = re.compile(r"published in ([0-9.]+)s")


def step_timings(stdout: str) -> dict[str, float]:
    """Seconds per step from ``quotaboard run``'s progress lines (plus start-up and the rest)."""
    steps: dict[str, float] = {}
    m = DEFS_LINE.search(stdout)
    if m:
        steps["(start-up: imports, definitions)"] = float(m.group(1))
    for line in stdout.splitlines():
        s = STEP_LINE.match(line)
        if s:
            steps[s.group(1)] = steps.get(s.group(1), 0.0) + float(s.group(2))
    return steps


@dataclass
class Series:
    """K runs of one measurement."""

    name: str
    what: str
    runs: list[Measurement] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)  # input rows of each run (0: not meaningful)

    @property
    def walls(self) -> list[float]:
        return [m.wall_s for m in self.runs]

    @property
    def median_wall(self) -> float:
        return statistics.median(self.walls) if self.runs else float("nan")

    @property
    def median_cpu(self) -> float:
        return statistics.median(m.cpu_s for m in self.runs) if self.runs else float("nan")

    @property
    def peak_mb(self) -> float:
        return max((m.peak_tree_rss_mb for m in self.runs), default=float("nan"))

    @property
    def single_mb(self) -> float:
        return max((m.max_single_rss_mb for m in self.runs), default=float("nan"))

    @property
    def rows_per_s(self) -> float | None:
        if not self.runs or not any(self.rows):
            return None
        return statistics.median(r / m.wall_s for r, m in zip(self.rows, self.runs, strict=True))

    @property
    def ok(self) -> bool:
        return bool(self.runs) and all(m.returncode == 0 for m in self.runs)

    def median_steps(self) -> dict[str, float]:
        per_run = [step_timings(m.stdout) for m in self.runs]
        names = list(dict.fromkeys(k for steps in per_run for k in steps))
        return {n: statistics.median(s.get(n, 0.0) for s in per_run) for n in names}

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "what": self.what,
            "walls_s": [round(w, 2) for w in self.walls],
            "median_wall_s": round(self.median_wall, 2),
            "cpu_s": [round(m.cpu_s, 2) for m in self.runs],
            "median_cpu_s": round(self.median_cpu, 2),
            "rows": self.rows,
            "rows_per_s": self.rows_per_s,
            "peak_tree_rss_mb": round(self.peak_mb, 1),
            "max_single_rss_mb": round(self.single_mb, 1),
            "returncodes": [m.returncode for m in self.runs],
            "load_before": [m.load_before for m in self.runs],
            "load_after": [m.load_after for m in self.runs],
            "steal_share": [m.steal_share for m in self.runs],
            "steps_median_s": self.median_steps() if self.name != "plain" else {},
        }


def _fmt_load(load: tuple[float, float, float]) -> str:
    return "/".join(f"{x:.1f}" for x in load)


def _fmt_steal(shares: Iterable[float | None]) -> str:
    """Each run's CPU steal in percent ("-" where it could not be read)."""
    return ", ".join("-" if x is None else f"{100 * x:.0f}" for x in shares)


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


@dataclass
class Target:
    name: str
    limit: float
    value: float | None
    unit: str

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "not measured"
        if self.value <= self.limit:
            return "met"
        times = self.value / self.limit
        return f"missed: {times:.1f} times the limit of {self.limit:g} {self.unit}"


def targets(series: dict[str, Series], scale: int) -> list[Target]:
    plain, full = series.get("plain"), series.get("full")
    noop, oneday = series.get("noop"), series.get("oneday")
    out = []
    full_plain = None
    if plain and full and plain.ok and full.ok:
        full_plain = _ratio(full.median_wall, plain.median_wall)
    out.append(Target("full rebuild / plain pass <= 3", 3.0, full_plain, "x"))
    oneday_noop = None
    if noop and oneday and noop.ok and oneday.ok:
        oneday_noop = _ratio(oneday.median_wall, noop.median_wall)
    out.append(Target("one-day run / no-op run <= 1.5", 1.5, oneday_noop, "x"))
    if scale == 1 and noop and noop.ok:
        out.append(Target("no-op run on the sample < 20 s", 20.0, noop.median_wall, "s"))
    else:
        out.append(Target("no-op run on the sample < 20 s (scale 1 only)", 20.0, None, "s"))
    # Failed runs count too: a run that ran out of memory peaked all the same.
    peaks = [s.peak_mb for s in series.values() if s.runs and s.name not in ("generate", "warm-up")]
    out.append(Target("peak memory < 3 GB", 3.0, max(peaks) / GB if peaks else None, "GB"))
    return out


def markdown(
    *,
    title: str,
    machine: dict,
    params: dict,
    series: dict[str, Series],
    notes: list[str],
) -> str:
    lines = [f"# {title}", ""]
    lines += ["## Machine and parameters", ""]
    for k, v in {**machine, **params}.items():
        lines.append(f"- {k}: {v}")
    lines += ["", "## Results", ""]
    lines.append(
        "| measurement | what | runs | median wall (s) | all runs (s) | median CPU (s) "
        "| input rows | rows/s "
        "| peak RSS, process tree (MiB) | largest process (MiB) | load avg before -> after "
        "| CPU steal (%) |"
    )
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for s in series.values():
        if not s.runs:
            lines.append(f"| {s.name} | {s.what} | 0 | not run | | | | | | | | |")
            continue
        rps = s.rows_per_s
        rows = f"{statistics.median(s.rows):,.0f}" if any(s.rows) else "-"
        loads = "; ".join(
            f"{_fmt_load(m.load_before)} -> {_fmt_load(m.load_after)}" for m in s.runs
        )
        failed = "" if s.ok else " (FAILED: " + ", ".join(str(m.returncode) for m in s.runs) + ")"
        lines.append(
            f"| {s.name}{failed} | {s.what} | {len(s.runs)} | {s.median_wall:.1f} | "
            f"{', '.join(f'{w:.1f}' for w in s.walls)} | {s.median_cpu:.1f} | {rows} | "
            f"{'-' if rps is None else f'{rps:,.0f}'} | {s.peak_mb:,.0f} | "
            f"{f'{s.single_mb:,.0f}' if s.single_mb else '-'} | "
            f"{loads} | {_fmt_steal(m.steal_share for m in s.runs)} |"
        )
    plain, full = series.get("plain"), series.get("full")
    noop, oneday = series.get("noop"), series.get("oneday")
    lines += ["", "## Ratios and targets", ""]
    if plain and full and plain.runs and full.runs:
        lines.append(
            f"- full / plain: {_ratio(full.median_wall, plain.median_wall):.1f}x wall time, "
            f"{_ratio(full.median_cpu, plain.median_cpu):.1f}x CPU time"
        )
    if noop and oneday and noop.runs and oneday.runs:
        lines.append(
            f"- one-day / no-op: {_ratio(oneday.median_wall, noop.median_wall):.2f}x wall time, "
            f"{_ratio(oneday.median_cpu, noop.median_cpu):.2f}x CPU time"
        )
    lines.append(
        "- The targets are judged on wall time, as the issue states them; on a shared machine "
        "the CPU-time ratio is the steadier estimate of the same ratio on an idle one."
    )
    lines += ["", "| target | value | verdict |", "|---|---|---|"]
    for t in targets(series, params.get("scale", 0)):
        val = "-" if t.value is None else f"{t.value:.2f} {t.unit}"
        lines.append(f"| {t.name} | {val} | {t.verdict} |")
    lines += ["", "## Where the time goes (median seconds per step of `quotaboard run`)", ""]
    pipeline = [s for s in (full, noop, oneday) if s and s.runs]
    if pipeline:
        steps = [s.median_steps() for s in pipeline]
        names = list(dict.fromkeys(k for st in steps for k in st))
        names.sort(key=lambda n: -max(st.get(n, 0.0) for st in steps))
        lines.append("| step | " + " | ".join(s.name for s in pipeline) + " |")
        lines.append("|---|" + "---|" * len(pipeline))
        for n in names:
            lines.append(f"| {n} | " + " | ".join(f"{st.get(n, 0.0):.1f}" for st in steps) + " |")
        lines.append(
            "| (wall, for reference) | "
            + " | ".join(f"{s.median_wall:.1f}" for s in pipeline)
            + " |"
        )
        lines += [
            "",
            "Steps run one after another in process (Dagster's in-process executor), so the "
            "step times add up to the wall time less the summary and shutdown.",
        ]
    if notes:
        lines += ["", "## Notes", ""]
        lines += [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"
