"""Event conditions at 1,000,000 profiles with 90 days of activity: our compiled masks over the
snapshot's day buckets (rule parsing and compilation included) against DuckDB SQL over a native
table of the same day counts, in one run, with the same counts. Also the snapshot's bytes per
profile (day counts alone, and with segment_engine.py's 10 fields), and the nested 10-condition
segment of segment_engine.py with and without an event condition in it (a preview's engine work).

Activity: chalicelib/synthetic.py's mix over 90 days, aggregated by the product's own code
(behaviour.apply_events) for a pool of visitors, then drawn with replacement up to --profiles.

    .venv/bin/python bench/event_conditions.py [--profiles 1000000] [--pool 20000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from segment_engine import CATALOGUE as ENGINE_CATALOGUE  # noqa: E402
from segment_engine import NOW, SEGMENTS, absent, generate, timed  # noqa: E402

from chalicelib import synthetic  # noqa: E402
from chalicelib.behaviour import apply_events, parse_event  # noqa: E402
from chalicelib.rules import Catalogue, parse_segment  # noqa: E402
from chalicelib.rules.columnar import Snapshot, build_column, compile_mask  # noqa: E402
from chalicelib.rules.day_buckets import day_number  # noqa: E402
from chalicelib.rules.event_columns import EventColumns  # noqa: E402

CATALOGUE = Catalogue({"country": {"string": 1}, "newsletter": {"boolean": 1}})
TODAY = day_number(NOW.date())


def within(days: int) -> tuple[int, int]:
    return TODAY - days + 1, TODAY


EVENT_SEGMENTS = {
    "purchase >= 2, last 30 days": (
        {
            "event": "purchase",
            "count": {"operator": "gte", "value": 2},
            "window": {"within_last_days": 30},
        },
        "key = 'purchase' AND day BETWEEN {0} AND {1}",
        "sum(count) >= 2",
        within(30),
    ),
    "spent >= 100, last 90 days": (
        {
            "event": "purchase",
            "sum": {"operator": "gte", "value": 100},
            "window": {"within_last_days": 90},
        },
        "key = 'purchase' AND day BETWEEN {0} AND {1}",
        "sum(cents) >= 10000",
        within(90),
    ),
    "any event, last 7 days": (
        {
            "event": "any",
            "count": {"operator": "gte", "value": 1},
            "window": {"within_last_days": 7},
        },
        "day BETWEEN {0} AND {1}",
        "sum(count) >= 1",
        within(7),
    ),
}


def pool_rows(pool: int) -> list[dict]:
    visitors = synthetic.generate(pool, seed=11, end=NOW, days=90)
    return [
        apply_events(None, [parse_event(e, "/", now=NOW) for e in v.events])["events"]
        for v in visitors
    ]


def sql_table(con, events: EventColumns) -> None:
    import pandas as pd

    frames = []
    for key, counts, cents in zip(events.keys, events.counts, events.cents):
        frames.append(
            pd.DataFrame(
                {
                    "profile": counts.rows().astype(np.int32),
                    "key": key,
                    "day": counts.days,
                    "count": counts.values.astype(np.int32),
                    "cents": (
                        cents.values if cents is not None else np.zeros(len(counts.days))
                    ).astype(np.int64),
                }
            )
        )
    con.register("frame", pd.concat(frames, ignore_index=True))
    con.execute("CREATE TABLE buckets AS SELECT * FROM frame")
    con.unregister("frame")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--pool", type=int, default=20_000)
    args = parser.parse_args()
    n = args.profiles
    started = time.perf_counter()
    rows = pool_rows(args.pool)
    pool = EventColumns.from_rows(rows)
    draw = np.random.default_rng(3).integers(0, args.pool, n)
    events = pool.take(draw)
    buckets = sum(len(c.days) for c in events.counts)
    print(
        f"{n:,} profiles from a pool of {args.pool:,} generated visitors (90 days) in "
        f"{time.perf_counter() - started:.1f}s: {len(events.keys)} event keys, "
        f"{buckets / n:.1f} day buckets a profile"
    )

    data = generate(n)
    fields = {f.path: f for f in ENGINE_CATALOGUE}
    columns = {path: build_column(fields[path].type, absent(v)) for path, v in data.items()}
    snapshot = Snapshot(np.array([f"p{i:07d}" for i in range(n)], dtype=object), columns, events)
    started = time.perf_counter()
    stored = Snapshot.from_bytes(snapshot.to_bytes())
    round_trip = time.perf_counter() - started
    event_bytes = events.nbytes() / n
    print(
        f"snapshot: day counts {event_bytes:.1f} bytes a profile; with the 10 fields of "
        f"segment_engine.py {snapshot.nbytes() / n:.1f} (goal < 64); stored and read back in "
        f"{round_trip:.1f}s"
    )
    assert stored.events.keys == events.keys

    started = time.perf_counter()
    for buckets in events.counts + [c for c in events.cents if c is not None]:
        buckets.window_sum_indexed(0, 0)  # builds each key's day-ordered index, kept
    print(
        f"day-ordered indexes of the {len(events.keys)} keys built in "
        f"{time.perf_counter() - started:.2f}s (once per snapshot held in memory)"
    )

    import duckdb

    con = duckdb.connect()
    con.execute("SET threads TO 2")
    sql_table(con, events)
    print(f"\n{'segment':30} {'members':>9} {'ours ms':>8} {'DuckDB ms':>10} {'DuckDB/ours':>12}")
    results = []
    for name, (rule, where, having, window) in EVENT_SEGMENTS.items():
        body = {"name": name, "rules": [rule]}

        def ours():
            root = parse_segment(body, CATALOGUE).root
            return int(np.count_nonzero(compile_mask(root, NOW)(snapshot)))

        sql = (
            f"SELECT count(*) FROM (SELECT profile FROM buckets WHERE {where.format(*window)} "
            f"GROUP BY profile HAVING {having})"
        )
        t_ours, count = timed(ours, 30)
        t_duck, duck = timed(lambda: con.execute(sql).fetchone()[0], 10)
        assert count == duck, (name, count, duck)
        results.append((name, t_ours, t_duck))
        print(
            f"{name:30} {count:9,} {t_ours * 1e3:8.2f} {t_duck * 1e3:10.2f} {t_duck / t_ours:12.1f}"
        )

    nested = SEGMENTS["nested, 10 conditions"]
    with_event = {
        **nested,
        "rules": nested["rules"] + [EVENT_SEGMENTS["purchase >= 2, last 30 days"][0]],
    }
    print()
    for name, body in (
        ("nested, 10 conditions", nested),
        ("nested + purchase >= 2 in 30d", with_event),
    ):
        t, count = timed(
            lambda body=body: int(
                np.count_nonzero(
                    compile_mask(parse_segment({"name": "x", **body}, CATALOGUE).root, NOW)(
                        snapshot
                    )
                )
            ),
            30,
        )
        print(f"{name:30} {count:9,} {t * 1e3:8.2f} ms (engine work of a preview)")
    first = results[0]
    print(
        f"\ngoals: '{first[0]}' < 20 ms ({first[1] * 1e3:.2f}), DuckDB/ours >= 4 "
        f"({first[2] / first[1]:.1f}); snapshot < 64 bytes a profile ({snapshot.nbytes() / n:.1f}); "
        "median of 30 runs (DuckDB 10, 2 threads), parsing and compilation included in ours"
    )


if __name__ == "__main__":
    main()
