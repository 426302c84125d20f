"""The mutation catalogue (``mutation/mutants.yml``, ``make mutate``) applies to today's code.

Every mutant's original text must occur exactly once in its file, or ``make mutate`` stops
before running anything. Code moves (a rule moved to another model, a CTE renamed) used to
leave mutants stale unnoticed until the next mutation run; this fails at once instead.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("mutation_run", REPO / "mutation" / "run.py")
assert _spec and _spec.loader
mutation_run = importlib.util.module_from_spec(_spec)
sys.modules["mutation_run"] = mutation_run  # dataclasses look their module up there
_spec.loader.exec_module(mutation_run)


def test_every_mutant_applies_to_the_current_code():
    mutants = mutation_run.load_mutants()
    assert mutants, "mutation/mutants.yml lists no mutant"
    assert mutation_run.check_mutants(mutants) == []
