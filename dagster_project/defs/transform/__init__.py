"""dbt models as Dagster assets (``dbt/`` at the repository root)."""
