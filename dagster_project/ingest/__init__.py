"""Landing data and business configuration into the working DuckDB file (no Dagster here)."""
