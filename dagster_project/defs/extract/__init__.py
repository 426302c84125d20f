"""Landing data into the raw schema of the working DuckDB file (CRM and product usage)."""
