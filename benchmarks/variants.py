"""``quotaboard run`` with one thing changed from outside, to measure what a proposed change
would save before anyone edits the pipeline.

    python -m benchmarks.variants ephemeral-instance -- run --home H --landing L ...

* ``ephemeral-instance``: Dagster's in-memory instance instead of the SQLite one under
  ``<home>/dagster`` (no event log on disk: no SQLite commit per event). What it saves is the
  cost of the on-disk event log; the run history it would lose is the price.
* ``dbt-tests-not-checks``: dbt data tests are not Dagster asset checks (dagster-dbt's
  ``enable_asset_checks=False``: a test result becomes one observation event instead of a
  planned check, a check evaluation and its copies in the event log's index). The tests still
  run in ``dbt build`` and still fail it; what the variant loses is each test's own check in
  Dagster (the run summary's check counts, the quality page's dbt rows). What it saves is
  the event traffic of ~250 checks per run.

The variant patches ``dagster.DagsterInstance.from_config`` in this process only, then calls
the normal command-line entry point, so everything else runs as in ``quotaboard run``.
"""

from __future__ import annotations

import sys


def _ephemeral_instance() -> None:
    import dagster as dg

    dg.DagsterInstance.from_config = staticmethod(lambda *_a, **_k: dg.DagsterInstance.ephemeral())


def _dbt_tests_not_checks() -> None:
    from dagster_dbt import DagsterDbtTranslatorSettings

    from dagster_project.defs.transform import translator

    original = translator.QuotaboardTranslator.__init__

    def __init__(self, settings=None) -> None:  # noqa: ARG001 (replaced, as the variant says)
        original(self, settings=DagsterDbtTranslatorSettings(enable_asset_checks=False))

    translator.QuotaboardTranslator.__init__ = __init__


VARIANTS = {
    "ephemeral-instance": _ephemeral_instance,
    "dbt-tests-not-checks": _dbt_tests_not_checks,
}


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
