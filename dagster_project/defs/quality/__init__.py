"""Great Expectations guards as Dagster asset checks (see ``checks.py`` and docs/guards.md)."""
