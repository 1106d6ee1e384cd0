"""Rank rules ("top 10 % CLV") at 1,000,000 profiles: the columnar mask, the resolved form the
audience uses (bound over the snapshot's numbers, then a comparison), and DuckDB SQL over the same
data in one run, with the same counts.

CLV: log-normal amounts with two decimals (many ties), 10 % of the profiles without one (not
counted, never members). Ours includes parsing and compiling the rule; the median of 30 runs
(DuckDB: 10, 2 threads). Goals (issue 13): under 20 ms and at least 4x faster than DuckDB.

    .venv/bin/python bench/rank_speed.py [--profiles 1000000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chalicelib.rules import Catalogue, parse_segment, ranks  # noqa: E402
from chalicelib.rules.columnar import Snapshot, build_column, compile_mask  # noqa: E402
from chalicelib.rules.stored import ABSENT  # noqa: E402
from chalicelib.rules.vectors import rank_count  # noqa: E402

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
CATALOGUE = Catalogue()
RULES = {"top 10 % CLV": ("top_percent", 10), "top 1 % CLV": ("top_percent", 1)}
RULES["bottom 5 % CLV"] = ("bottom_percent", 5)


def timed(fn, repeat: int):
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profiles", type=int, default=1_000_000)
    n = parser.parse_args().profiles
    rng = np.random.default_rng(3)
    clv = np.round(rng.lognormal(4.0, 1.3, n), 2)
    missing = rng.random(n) < 0.1
    stored = [ABSENT if m else v for m, v in zip(missing.tolist(), clv.tolist())]
    snapshot = Snapshot(
        np.array([f"p{i:07d}" for i in range(n)], dtype=object),
        {"predictive.clv": build_column("number", stored)},
    )
    import duckdb
    import pandas as pd

    con = duckdb.connect()
    con.execute("SET threads TO 2")
    con.register("frame", pd.DataFrame({"clv": np.where(missing, np.nan, clv)}))
    con.execute(
        "CREATE TABLE profiles AS SELECT CASE WHEN isnan(clv) THEN NULL ELSE clv END AS clv FROM frame"
    )
    holding = int((~missing).sum())
    print(f"{n:,} profiles, {holding:,} with a CLV ({len(np.unique(clv[~missing])):,} distinct)")
    print(
        f"\n{'rule':16} {'members':>9} {'column ms':>10} {'resolved ms':>12} {'DuckDB ms':>10} {'DuckDB/ours':>12}"
    )
    worst = []
    for name, (operator, percent) in RULES.items():
        body = {
            "name": name,
            "rules": [{"field": "predictive.clv", "operator": operator, "value": percent}],
        }

        def column():
            root = parse_segment(body, CATALOGUE).root
            return int(np.count_nonzero(compile_mask(root, NOW)(snapshot)))

        def resolved():
            root = parse_segment(body, CATALOGUE).root
            root = ranks.resolve(root, lambda p: ranks.snapshot_numbers(snapshot, p, (), ()))
            return int(np.count_nonzero(compile_mask(root, NOW)(snapshot)))

        k = rank_count(percent, holding)
        order, compare = ("DESC", ">=") if operator == "top_percent" else ("ASC", "<=")
        sql = (
            f"SELECT count(*) FROM profiles WHERE clv {compare} (SELECT clv FROM profiles "
            f"WHERE clv IS NOT NULL ORDER BY clv {order} LIMIT 1 OFFSET {k - 1})"
        )
        t_column, a = timed(column, 30)
        t_resolved, b = timed(resolved, 30)
        t_duck, c = timed(lambda: con.execute(sql).fetchone()[0], 10)
        assert a == b == c, (name, a, b, c)
        slowest = max(t_column, t_resolved)
        worst.append((t_duck / slowest, slowest))
        print(
            f"{name:16} {a:9,} {t_column * 1e3:10.2f} {t_resolved * 1e3:12.2f} "
            f"{t_duck * 1e3:10.2f} {t_duck / slowest:12.1f}"
        )
    print(
        f"\ngoals: under 20 ms (worst {max(w[1] for w in worst) * 1e3:.2f} ms), DuckDB/ours >= 4 "
        f"(worst {min(w[0] for w in worst):.1f}); ours = the slower of the two forms"
    )


if __name__ == "__main__":
    main()
