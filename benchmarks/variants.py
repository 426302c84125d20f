"""``quotaboard run`` with one thing changed from outside, to measure what a proposed change
would save before anyone edits the pipeline.

    python -m benchmarks.variants ephemeral-instance -- run --home H --landing L ...

* ``ephemeral-instance``: Dagster's in-memory instance instead of the SQLite one under
  ``<home>/dagster`` (no event log on disk: no SQLite commit per event). What it saves is the
  cost of the on-disk event log; the run history it would lose is the price.

The variant patches ``dagster.DagsterInstance.from_config`` in this process only, then calls
the normal command-line entry point, so everything else runs as in ``quotaboard run``.
"""

from __future__ import annotations

import sys


def _ephemeral_instance() -> None:
    import dagster as dg

    dg.DagsterInstance.from_config = staticmethod(lambda *_a, **_k: dg.DagsterInstance.ephemeral())


VARIANTS = {"ephemeral-instance": _ephemeral_instance}


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in VARIANTS or argv[1] != "--":
        print(
            f"usage: variants {{{','.join(VARIANTS)}}} -- <quotaboard arguments>", file=sys.stderr
        )
        return 2
    VARIANTS[argv[0]]()
    from dagster_project.cli import main as quotaboard

    return quotaboard(argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
