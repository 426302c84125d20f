"""Same input, same output: two runs over the same landing data, configuration and as_of
publish identical marts (every table, every row, every column except run metadata), in the
DuckDB file and in Parquet; fct_attainment_history gains exactly the second run's rows, which
repeat the first run's numbers."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from test_faults import HISTORY, PER_RUN, RUN_METADATA_COLUMNS, marts_snapshot, run


def parquet_snapshot(home: Path) -> dict[str, list[tuple]]:
    conn = duckdb.connect()
    try:
        out = {}
        for f in sorted((home / "published" / "parquet").glob("*.parquet")):
            if f.stem in PER_RUN:
                continue
            cols = [d[0] for d in conn.execute(f"select * from '{f}' limit 0").description]
            sel = ", ".join(f'"{c}"' for c in cols if c not in RUN_METADATA_COLUMNS)
            out[f.stem] = sorted(conn.execute(f"select {sel} from '{f}'").fetchall(), key=repr)
        return out
    finally:
        conn.close()


def history(home: Path) -> list[tuple]:
    conn = duckdb.connect(str(home / "published" / "quotaboard.duckdb"), read_only=True)
    try:
        return conn.execute(
            f"select run_id, published_at, as_of, assignee_type, assignee_id, fiscal_period, "
            f"metric, target, actual, attainment from marts.{HISTORY} order by all"
        ).fetchall()
    finally:
        conn.close()


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_same_input_publishes_same_marts(sample_company, tmp_path):
    landing_src, config = sample_company
    landing = tmp_path / "landing"
    shutil.copytree(landing_src, landing)
    home = tmp_path / "home"
    home.mkdir()

    assert run(landing, config, home) == 0
    first, first_parquet, first_history = (
        marts_snapshot(home),
        parquet_snapshot(home),
        history(home),
    )
    # --rebuild: the same inputs built again (not the first build reused).
    assert run(landing, config, home, extra=("--rebuild",)) == 0
    second, second_parquet, second_history = (
        marts_snapshot(home),
        parquet_snapshot(home),
        history(home),
    )

    assert sorted(first) == sorted(second)
    assert len(first) >= 8  # every mart of metrics.md §8 but the history
    for model in first:
        assert first[model] == second[model], f"{model} differs between two identical runs"
        # Exceptions and post-close changes may rightly be empty (no closed period here).
        assert first[model] or model in ("fct_quota_exceptions", "fct_post_close_changes"), (
            f"{model} is empty"
        )
    assert first_parquet == second_parquet == first

    # History: the first run's rows unchanged, plus one new run with the same numbers.
    assert set(first_history) <= set(second_history)
    new_rows = [r for r in second_history if r not in set(first_history)]
    assert len({r[0] for r in first_history}) == 1
    assert len({r[0] for r in new_rows}) == 1 and len(new_rows) == len(first_history)
    assert sorted(r[2:] for r in new_rows) == sorted(r[2:] for r in first_history)
