"""Independent plain-Python reference implementation of the metric contract (see reference.py)."""
