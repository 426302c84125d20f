"""Running one command and measuring it: wall time and peak resident memory of its process tree.

Peak memory is sampled, not exact: every ``interval`` seconds (50 ms by default) the resident
set sizes (``VmRSS`` in ``/proc/<pid>/status``) of the command and all its descendants
(``/proc/<pid>/task/<tid>/children``) are summed, and the largest sum is kept. Pages that
several processes share (a forked child's copy-on-write pages) count once per process, so the
sum can overstate; a burst shorter than the interval can be missed. ``ru_maxrss`` of the
children is reported next to it: the largest single process, exact.

CPU time (user + system, from ``getrusage(RUSAGE_CHILDREN)``) is reported too: on a machine
that other processes share, it moves far less than the wall time. So is the machine's CPU
steal over the command (``/proc/stat``): the share of its cores' time the hypervisor gave to
other guests. On a virtual machine it is what makes the same command take 30 s one hour and
60 s the next; a measurement taken under steal is slower for reasons outside the code.
"""

from __future__ import annotations

import os
import resource
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Measurement:
    """One command's outcome."""

    command: list[str]
    returncode: int
    wall_s: float
    cpu_s: float  # user + system CPU seconds of the command and the descendants it waited for
    peak_tree_rss_mb: float  # sampled sum over the process tree
    max_single_rss_mb: float  # ru_maxrss of the largest descendant (exact, one process)
    samples: int
    stdout: str
    stderr: str
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    steal_share: float | None = None  # of all cores' time over the command (None: no /proc/stat)


def cpu_ticks() -> tuple[int, int] | None:
    """(steal, total) clock ticks of all cores since boot, from ``/proc/stat``; None where
    there is no such file."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal [guest guest_nice: already in user/nice]
    return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])


def steal_between(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    if before is None or after is None or after[1] <= before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return out


def tree_pids(root: int) -> list[int]:
    """``root`` and all its descendants that are alive now."""
    seen, stack = [], [root]
    while stack:
        pid = stack.pop()
        seen.append(pid)
        stack.extend(_children(pid))
    return seen


def rss_kb(pid: int) -> int:
    """Resident set size of one process in KiB (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def tree_rss_kb(root: int) -> int:
    return sum(rss_kb(p) for p in tree_pids(root))


def run_measured(
    command: list[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    interval: float = 0.05,
    timeout: float | None = None,
) -> Measurement:
    """Run ``command`` to completion, sampling its tree's memory every ``interval`` seconds.

    stdout and stderr are captured (in files, so a chatty child never blocks on a pipe)."""
    load_before = os.getloadavg()
    ticks_before = cpu_ticks()
    base = resource.getrusage(resource.RUSAGE_CHILDREN)
    out_path = Path(f"/tmp/.bench-{os.getpid()}-{time.monotonic_ns()}")
    peak = 0
    samples = 0
    with open(f"{out_path}.out", "w+") as out, open(f"{out_path}.err", "w+") as err:
        t0 = time.monotonic()
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak, samples
            while not done.is_set():
                peak = max(peak, tree_rss_kb(proc.pid))
                samples += 1
                done.wait(interval)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            returncode = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            returncode = proc.wait()
        wall = time.monotonic() - t0
        done.set()
        sampler.join()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    for suffix in (".out", ".err"):
        Path(f"{out_path}{suffix}").unlink(missing_ok=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    maxrss = after.ru_maxrss
    cpu = (after.ru_utime + after.ru_stime) - (base.ru_utime + base.ru_stime)
    return Measurement(
        command=command,
        returncode=returncode,
        wall_s=wall,
        cpu_s=cpu,
        peak_tree_rss_mb=peak / 1024,
        # ru_maxrss of children is a running maximum over every child ever waited for: only
        # meaningful when it grew during this command.
        max_single_rss_mb=(maxrss if maxrss > base.ru_maxrss else 0) / 1024,
        samples=samples,
        stdout=stdout,
        stderr=stderr,
        load_before=load_before,
        load_after=os.getloadavg(),
        steal_share=steal_between(ticks_before, cpu_ticks()),
    )
