"""A scale simulation that runs here: the rescore of one shard (every score changed) and the
compaction of a bulk load, on in-process moto with a fixed latency injected into every
DynamoDB, S3 and SQS call (a botocore `before-send` hook that sleeps before moto answers:
SINGLE_MS for single-item calls, BATCH_MS for batches, queries, listings and transactions).
It counts the calls by operation and projects the wall time of a shard of 10 million / 64
profiles, and of a compaction after a 1-million-profile bulk load:

- measured: the run's wall time per profile (moto's own work included: an overestimate), times
  the projected size;
- from calls: the calls per profile times their injected latency, plus our CPU time per
  profile (the wall time less the injected sleeps less moto's time) times the projected size.

    .venv/bin/python bench/scale_sim.py [--profiles 3000] [--bulk 3000]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
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
        "TABLE_PREFIX": "sim-",
        "CURSOR_SECRET": "bench-cursor-secret-0123456789",
        "PROFILE_SHARDS": "1",  # the one shard simulated holds every profile of the run
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }
)
os.environ.pop("DYNAMODB_ENDPOINT", None)

SINGLE_MS, BATCH_MS = 6.0, 20.0
BATCH_OPS = {
    "BatchWriteItem",
    "BatchGetItem",
    "TransactWriteItems",
    "TransactGetItems",
    "Query",
    "Scan",
    "SendMessageBatch",
    "DeleteObjects",
    "ListObjectsV2",
    "DeleteMessageBatch",
}
TARGET_SHARD = 10_000_000 // 64
TARGET_BULK = 1_000_000


class Latency:
    """Sleeps before each call (outside moto's lock, so parallel calls overlap as on AWS) and
    counts the calls by service and operation."""

    def __init__(self):
        self.calls: Counter = Counter()
        self.slept = self.moto = 0.0
        self.lock = threading.Lock()
        self.local = threading.local()

    def __call__(self, request=None, event_name="", **_):
        _, service, operation = (event_name.split(".") + ["", ""])[:3]
        delay = (BATCH_MS if operation in BATCH_OPS else SINGLE_MS) / 1000
        with self.lock:
            self.calls[f"{service}.{operation}"] += 1
            self.slept += delay
        time.sleep(delay)
        self.local.sent = time.perf_counter()

    def answered(self, **_):
        """After moto answered and botocore parsed: the time moto (our stand-in for AWS) took."""
        sent = getattr(self.local, "sent", None)
        if sent is not None:
            with self.lock:
                self.moto += time.perf_counter() - sent
            self.local.sent = None

    def take(self) -> tuple[Counter, float, float]:
        with self.lock:
            calls, slept, moto = self.calls, self.slept, self.moto
            self.calls, self.slept, self.moto = Counter(), 0.0, 0.0
        return calls, slept, moto


def dynamodb_calls(calls: Counter) -> int:
    return sum(n for k, n in calls.items() if k.startswith("dynamodb."))


def load_profiles(n: int, predictive: bool) -> list[str]:
    """n profiles with behaviour, straight into the table (as a bulk load leaves them)."""
    from chalicelib import synthetic
    from chalicelib.behaviour import apply_events, parse_event
    from chalicelib.storage import profile_table
    from chalicelib.storage.tables import ProfileModel

    visitors = synthetic.generate(n, seed=5, days=120)
    with ProfileModel.batch_write() as writer:
        for v in visitors:
            events = [parse_event({**e, "profile_id": v.profile_id}, "/e") for e in v.events[:60]]
            writer.save(
                profile_table.profile_item(
                    "sim",
                    v.profile_id,
                    v.attributes,
                    apply_events(None, events),
                    {"clv": 0.0} if predictive else {},
                    "2026-11-01T00:00:00Z",
                    "2026-11-01T00:00:00Z",
                    1,
                )
            )
    return [v.profile_id for v in visitors]


def simulate_rescore(latency: Latency, n: int) -> dict:
    from chalicelib.services import rescore_fanout
    from chalicelib.storage import score_writes

    # one transaction at a time, so moto's time is not counted twice while calls wait for its
    # lock: the projection is for sequential writes (PARALLEL_TRANSACTIONS would cut it)
    score_writes.PARALLEL_TRANSACTIONS = 1
    job = rescore_fanout.start_rescore("sim", date(2026, 11, 20))
    latency.take()
    started = time.perf_counter()
    result = rescore_fanout.rescore_shard("sim", job["job_id"], 0, date(2026, 11, 20))
    wall = time.perf_counter() - started
    calls, slept, moto = latency.take()
    return {"result": result, "wall": wall, "calls": calls, "slept": slept, "moto": moto, "n": n}


def simulate_compaction(latency: Latency, n: int) -> dict:
    """n profiles written after the snapshot, each with its write entry (document) and its
    score entry, as POST /profiles and the stream trigger leave them; then one compaction."""
    from chalicelib.audience import compaction
    from chalicelib.profile_documents import segmentable_document
    from chalicelib.storage import batch, change_log, profile_table
    from chalicelib.storage.tables import ChangeModel

    entries = []
    for profile in profile_table.iter_profiles("sim", page_size=1000):
        record = profile[1]
        document = segmentable_document(record.document())
        entries.append(
            change_log.entry("sim", record.profile_id, None, change_log.WRITE, 2, document)
        )
        if len(entries) >= 2 * n:
            break
    batch.write(ChangeModel, entries[:n])
    latency.take()
    started = time.perf_counter()
    result = compaction.compact("sim")
    wall = time.perf_counter() - started
    calls, slept, moto = latency.take()
    return {"result": result, "wall": wall, "calls": calls, "slept": slept, "moto": moto, "n": n}


def report(name: str, run: dict, target: int, per: str) -> None:
    n, wall, calls = run["n"], run["wall"], run["calls"]
    ddb = dynamodb_calls(calls)
    injected = (
        sum(c * (BATCH_MS if k.split(".")[1] in BATCH_OPS else SINGLE_MS) for k, c in calls.items())
        / 1000
    )
    print(f"\n== {name}: {n:,} profiles, wall {wall:.1f} s (injected sleeps {run['slept']:.1f} s)")
    for key, count in sorted(calls.items()):
        print(f"   {key:40} {count:7,}")
    print(f"   DynamoDB calls per {per}: {ddb / max(n, 1):.3f}")
    ours = max(wall - run["slept"] - run["moto"], 0.0)  # our code's time (sequential parts)
    print(
        f"   of the wall time: injected sleeps {run['slept']:.1f} s, moto {run['moto']:.1f} s, "
        f"ours {ours:.1f} s"
    )
    measured = wall / n * target
    projected = (injected + ours) / n * target
    print(
        f"   projected to {target:,} profiles: {projected / 60:.1f} min (calls x injected "
        f"latency + our time, scaled); {measured / 60:.1f} min scaling the whole measured wall "
        f"time, moto's own work included"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profiles", type=int, default=3000, help="profiles in the shard")
    parser.add_argument("--bulk", type=int, default=3000, help="profiles bulk-loaded")
    args = parser.parse_args()
    import botocore.handlers
    from moto import mock_aws

    from chalicelib.local import moto_direct
    from chalicelib.local.moto_lock import serialize_moto_calls

    latency = Latency()
    # before moto's own before-send handler, which answers the call
    botocore.handlers.BUILTIN_HANDLERS.insert(0, ("before-send", latency))
    botocore.handlers.BUILTIN_HANDLERS.append(("after-call", latency.answered))
    serialize_moto_calls()
    # every DynamoDB call over botocore's wire, where the latency is injected and the calls counted
    moto_direct.ENABLED = False
    with mock_aws():
        from chalicelib.storage import model_store, project_table, work_queue
        from chalicelib.storage.connection import create_tables

        create_tables(wait=False)
        work_queue.ensure_queue()
        model_store.ensure_bucket()
        project_table.create_project("sim")
        started = time.time()
        load_profiles(args.profiles, predictive=False)
        print(f"loaded {args.profiles:,} profiles in {time.time() - started:.0f} s")
        rescore = simulate_rescore(latency, args.profiles)
        from chalicelib.services import rescore_fanout

        job = rescore_fanout.job_table.recent("sim", 1)[0]
        if not job.finalized:
            rescore_fanout.finalize_rescore(job)  # the one shard is done: the snapshot is saved
        latency.take()
        compaction = simulate_compaction(latency, min(args.bulk, args.profiles))
    print(f"\ninjected latency: {SINGLE_MS:g} ms a single-item call, {BATCH_MS:g} ms a batch")
    print(f"(batches: {', '.join(sorted(BATCH_OPS))})")
    report("rescore of one shard, every score changed", rescore, TARGET_SHARD, "changed profile")
    print(f"   shard result: {rescore['result']}")
    report("compaction of a bulk load", compaction, TARGET_BULK, "changed profile")
    print(f"   compaction result: {compaction['result']}")


if __name__ == "__main__":
    main()
