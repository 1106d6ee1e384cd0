"""How fast GET /segments/{id}/uplift answers (issue 15's goals: under 2 s for 1,000,000 members
in the engine, under 1 s for 50,000 members on the local stack).

- engine: a cohort of --members members (entries over 90 days, 10 % control, purchases on about
  1.5 days each in the 90 days, as day buckets), timed through services.uplift.report (select the
  period, per-member window sums, the statistics) and through the .npz round trip the cached
  cohort takes from S3 (bytes in, arrays out);
- local stack (--stack-members N, 0 to skip): a fresh stack seeded with N demo profiles, a segment
  every profile matches with a 10 % control group, evaluated in the background (which stores the
  cohort); then the route is timed --repeats times over HTTP (loopback wall clock). The first
  request after the evaluation also reads the change log since the cohort was taken.

    .venv/bin/python bench/uplift_speed.py [--members 1000000] [--stack-members 50000]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from chalicelib.rules.day_buckets import DayBuckets  # noqa: E402
from chalicelib.services.uplift import report  # noqa: E402
from chalicelib.storage.uplift_cohorts import StoredCohort  # noqa: E402

ENGINE_GOAL, STACK_GOAL = 2.0, 1.0
DAY = 86400.0


def synthetic_cohort(n: int, seed: int = 1, days: int = 90) -> StoredCohort:
    """n members entering over `days` days up to now; purchases on ~1.5 days each in that time,
    treated members buying a little more after entry."""
    rng = np.random.default_rng(seed)
    now = time.time()
    entered = now - rng.random(n) * days * DAY
    control = rng.random(n) < 0.10
    counts = rng.poisson(1.5, n)
    rows = np.repeat(np.arange(n), counts)
    first_day = int((now - days * DAY) // DAY)
    day = first_day + rng.integers(0, days, len(rows))
    key = np.unique(rows.astype(np.int64) * 100_000 + (day - first_day))
    rows, day = key // 100_000, key % 100_000 + first_day
    offsets = np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=n)))).astype(np.int64)
    orders = rng.integers(1, 3, len(rows)).astype(np.float64)
    revenue = np.round(orders * rng.gamma(2.0, 30.0, len(rows)), 2)
    ids = np.array([f"p{i:07d}" for i in range(n)])
    return StoredCohort(
        now,
        ids,
        entered,
        control,
        DayBuckets(offsets, day.astype(np.int32), orders),
        DayBuckets(offsets, day.astype(np.int32), revenue),
    )


def best_of(repeats: int, work) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        out = work()
        times.append(time.perf_counter() - started)
    return min(times), out


def engine(members: int, repeats: int) -> bool:
    from datetime import datetime, timedelta, timezone

    cohort = synthetic_cohort(members)
    until = datetime.now(timezone.utc)
    since = until - timedelta(days=90)
    seconds, out = best_of(repeats, lambda: report(cohort, since, until, 30))
    buffer = io.BytesIO()
    np.savez(
        buffer,
        profile_ids=cohort.profile_ids,
        entered=cohort.entered,
        control=cohort.control,
        offsets=cohort.orders.offsets,
        days=cohort.orders.days,
        orders=cohort.orders.values,
        revenue=cohort.revenue.values,
    )
    blob = buffer.getvalue()

    def load():
        data = np.load(io.BytesIO(blob), allow_pickle=False)
        return [data[k] for k in data.files]

    load_seconds, _ = best_of(repeats, load)
    total = seconds + load_seconds
    groups = out["groups"]
    print(f"\nengine: {members:,} members, {len(cohort.orders.days):,} purchase days over 90 days")
    print(f"  treated {groups['treated']['members']:,}, control {groups['control']['members']:,}")
    print(f"  report (select, window sums, statistics): {seconds:.3f} s (best of {repeats})")
    print(f"  cohort .npz load ({len(blob) / 1e6:.1f} MB): {load_seconds:.3f} s")
    flag = "" if total < ENGINE_GOAL else "  OVER"
    print(f"  total {total:.3f} s (goal: under {ENGINE_GOAL:.0f} s){flag}")
    return total < ENGINE_GOAL


def local_stack(members: int, repeats: int) -> bool:
    import requests
    from running_stack import LocalStack

    started = time.time()
    stack = LocalStack(
        Path(tempfile.mkdtemp(prefix="uplift-speed-")) / "data", demo_profiles=members
    ).start(timeout=3600)
    print(f"\nlocal stack: {members:,} demo profiles seeded in {time.time() - started:.0f} s")
    try:
        base, headers = f"{stack.api}/projects/demo", {"x-api-key": stack.key}
        waited = time.time()
        while time.time() - waited < 3600:  # the rescore the stack starts with: let it finish
            jobs = requests.get(f"{base}/jobs", headers=headers, timeout=300).json()["jobs"]
            if jobs and all(j["status"] != "running" for j in jobs):
                break
            time.sleep(2)
        print(f"  the first rescore finished after {time.time() - waited:.0f} s more")
        body = {
            "name": "everyone, 10 % held out",
            "match": "all",
            "rules": [{"field": "behaviour.revenue", "operator": "gte", "value": 0}],
            "control_percent": 10,
        }
        r = requests.post(f"{base}/segments", json=body, headers=headers, timeout=300)
        assert r.status_code == 201, r.text
        sid = r.json()["segment_id"]
        waited = time.time()
        size = 0
        while time.time() - waited < 3600:
            stats = requests.get(f"{base}/segments/{sid}/stats", headers=headers, timeout=300)
            if stats.json().get("last_computed_at"):
                size = stats.json()["history"][0]["size"]
                break
            time.sleep(2)
        print(f"  segment of {size:,} members evaluated in {time.time() - waited:.0f} s")
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            r = requests.get(f"{base}/segments/{sid}/uplift", headers=headers, timeout=300)
            times.append(time.perf_counter() - t0)
            assert r.status_code == 200, r.text
        groups = r.json()["groups"]
        print(
            f"  uplift: treated {groups['treated']['members']:,}, "
            f"control {groups['control']['members']:,}"
        )
        print(
            f"  GET uplift: first {times[0]:.3f} s, median {statistics.median(times):.3f} s, "
            f"slowest {max(times):.3f} s of {repeats}"
        )
        flag = "" if max(times) < STACK_GOAL else "  OVER"
        print(f"  (goal: under {STACK_GOAL:.0f} s){flag}")
        return max(times) < STACK_GOAL
    finally:
        stack.stop()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--stack-members", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    ok = engine(args.members, args.repeats)
    if args.stack_members:
        ok = local_stack(args.stack_members, args.repeats) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
