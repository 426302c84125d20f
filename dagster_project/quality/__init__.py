"""Great Expectations guards on landing data and marts (plain Python; GX imported lazily).

* :mod:`.suites`: the suites as data, written to ``expectations/gx/expectations/*.json``.
* :mod:`.batches`: what is validated, read read-only from the working DuckDB file.
* :mod:`.runner`: validation with GX, results as :class:`~.runner.GuardResult`, Data Docs.

See ``docs/guards.md``.
"""
