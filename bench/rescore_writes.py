"""Writes of a rescore in which 5 % of the profiles changed: counted at the DynamoDB API (every
PutItem/UpdateItem/DeleteItem/BatchWriteItem/TransactWriteItems call, items by table and calls
by operation), not by the service's own counters. Peer in the same run: the first rescore, where every profile is new.

    .venv/bin/python bench/rescore_writes.py [--profiles 2000] [--changed 0.05]
"""

import argparse
import os
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "TABLE_PREFIX": "bench-",
        "CURSOR_SECRET": "bench-cursor-secret-0123456789",
    }
)
os.environ.pop("DYNAMODB_ENDPOINT", None)

WRITE_OPS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


class WriteCounter:
    """Counts item writes per table from the API parameters of each call."""

    def __init__(self):
        self.items: Counter = Counter()
        self.calls: Counter = Counter()  # write calls by operation

    def __call__(self, model, params, **_):
        name = model.name
        if name not in WRITE_OPS:
            return
        self.calls[name] += 1
        if name == "BatchWriteItem":
            for table, requests in params["RequestItems"].items():
                self.items[table] += len(requests)
        elif name == "TransactWriteItems":
            for item in params["TransactItems"]:
                op = next(iter(item.values()))
                self.items[op["TableName"]] += 1
        else:
            self.items[params["TableName"]] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profiles", type=int, default=400)
    parser.add_argument("--changed", type=float, default=0.05)
    args = parser.parse_args()
    import botocore.handlers
    from moto import mock_aws

    from chalicelib import synthetic
    from chalicelib.local import moto_direct
    from chalicelib.services import events as event_service
    from chalicelib.services import scoring_jobs
    from chalicelib.storage import project_table
    from chalicelib.storage.connection import create_tables

    counter = WriteCounter()
    # every DynamoDB client of the run (each model's, the transactions') is made after this, in a
    # botocore session that registers the built-in handlers: the counter sees every call
    botocore.handlers.BUILTIN_HANDLERS.append(("before-parameter-build.dynamodb", counter))
    moto_direct.ENABLED = False  # the local stack's shortcut would skip botocore's events
    with mock_aws():
        create_tables(wait=False)
        project_table.create_project("bench")
        visitors = synthetic.generate(args.profiles, seed=3, days=120)
        started = time.time()
        for v in visitors:
            event_service.ingest(
                "bench", {"events": [{**e, "profile_id": v.profile_id} for e in v.events[:90]]}
            )
        print(f"loaded {args.profiles} profiles in {time.time() - started:.0f} s")
        counter.items.clear()  # what loading wrote
        as_of = date(2026, 11, 20)
        first = scoring_jobs.rescore_project("bench", as_of)
        first_writes = dict(counter.items)
        counter.items.clear()
        again = scoring_jobs.rescore_project("bench", as_of)
        again_writes = dict(counter.items)
        n_changed = int(args.profiles * args.changed)
        for v in visitors[:n_changed]:  # 5 %: a new order each
            event_service.ingest(
                "bench",
                {
                    "events": [
                        {
                            "event_id": "bench-extra",
                            "profile_id": v.profile_id,
                            "type": "purchase",
                            "timestamp": "2026-11-19T12:00:00Z",
                            "value": 80.0,
                        }
                    ]
                },
            )
        counter.items.clear()
        counter.calls.clear()
        third = scoring_jobs.rescore_project("bench", as_of)
        third_writes, third_calls = dict(counter.items), dict(counter.calls)
    print(f"\n{'rescore':<34} {'profiles read':>13} {'scores written':>15}  item writes by table")
    for label, result, writes in [
        ("first (every profile new)", first, first_writes),
        ("again, nothing changed", again, again_writes),
        (f"after {n_changed} profiles changed ({100 * args.changed:.0f} %)", third, third_writes),
    ]:
        print(
            f"{label:<34} {result['profiles_read']:>13,} {result['written']:>15,}  "
            f"{ {t.removeprefix('bench-'): n for t, n in sorted(writes.items())} }"
        )
    profile_writes = third_writes.get("bench-profiles", 0)
    print(
        f"\nprofile writes in the 5 % rescore: {profile_writes} for {n_changed} changed profiles "
        f"({profile_writes / max(n_changed, 1):.2f} per changed profile); the first rescore "
        f"wrote {first_writes.get('bench-profiles', 0)}"
    )
    print(
        f"write calls in the 5 % rescore: {third_calls} "
        f"({sum(third_calls.values()) / max(n_changed, 1):.2f} per changed profile, the job's "
        "and the snapshot pointer's included; a TransactWriteItems of 50 profiles is one call)"
    )


if __name__ == "__main__":
    main()
