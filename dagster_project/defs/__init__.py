"""Every Dagster definition of Quotaboard; ``definitions.py`` loads this package."""
