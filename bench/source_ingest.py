"""Ingest speed of the Segment-compatible source on the local stack, and a check that redelivery
neither loses nor doubles a message.

Starts a fresh local stack (as `make run` does, like bench/load_test.py) in a temporary data
folder, makes a write key with the CLI, then runs --threads client threads that each send Segment
batches to /projects/demo/sources/segment/v1/batch with HTTP Basic auth, as the official clients
do: each batch holds --batch messages (track events of the E-commerce spec, pages, and an
identify the first time a user is seen) of --users-per-batch users drawn from --users, each with
a fresh messageId. Every batch is sent twice (the second time as a redelivery, at once or after a
few other batches, by the same or another thread). It prints messages a second (distinct
messages, and deliveries counting the resends), batch latency percentiles, and the accounting of
the answers. Then it reads every user's profile back through our API and checks that each
counter (product views, add-to-carts, checkouts, searches, page views, orders, revenue) equals
what the distinct acknowledged message ids imply: none lost, none counted twice.

Exits non-zero on a 5xx, a rejected message, a lost or doubled message.

Locally every profile write is a DynamoDB transaction in moto behind the stack's one moto lock;
the figures say how the local stack behaves, not what Lambda + DynamoDB would do.

    .venv/bin/python bench/source_ingest.py [--seconds 30 --threads 4 --batch 100]
    make bench-source SOURCE_ARGS="--seconds 20"
"""

from __future__ import annotations

import argparse
import collections
import random
import re
import shutil
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from running_stack import LocalStack  # noqa: E402  (the suite's stack starter)

PROJECT = "demo"
# (message, counter it moves) of the traffic; page views are the commonest, orders the rarest
TRAFFIC = [
    ("page", "page_views", 30),
    ("Product Viewed", "product_views", 30),
    ("Products Searched", "searches", 10),
    ("Product Added", "add_to_cart", 15),
    ("Checkout Started", "checkouts", 8),
    ("Order Completed", "orders", 7),
]
COUNTERS = [counter for _, counter, _ in TRAFFIC]


class Ledger:
    """What was sent and acknowledged, by message id."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages: dict[str, tuple[str, str, float]] = {}  # id -> (user, counter, revenue)
        self.acknowledged: set[str] = set()
        self.accepted = self.duplicates = self.rejected = 0
        self.statuses = collections.Counter()
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self.identified: set[str] = set()


def make_batch(rng: random.Random, ledger: Ledger, users: int, size: int, per_batch: int) -> list:
    chosen = [f"shopper-{rng.randrange(users)}" for _ in range(per_batch)]
    batch = []
    with ledger.lock:
        new = [u for u in dict.fromkeys(chosen) if u not in ledger.identified]
        ledger.identified.update(new)
    for user in new:
        batch.append(
            {
                "type": "identify",
                "userId": user,
                "messageId": str(uuid.uuid4()),
                "traits": {"email": f"{user}@example.com"},
                "timestamp": "2026-11-02T10:00:00.000Z",
            }
        )
    names = [name for name, _, _ in TRAFFIC]
    weights = [w for _, _, w in TRAFFIC]
    counters = dict((name, counter) for name, counter, _ in TRAFFIC)
    while len(batch) < size:
        user, name = rng.choice(chosen), rng.choices(names, weights)[0]
        message_id = str(uuid.uuid4())
        message = {
            "userId": user,
            "messageId": message_id,
            "timestamp": f"2026-11-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00.000Z",
            "context": {"library": {"name": "bench", "version": "1"}},
        }
        revenue = 0.0
        if name == "page":
            message.update(type="page", name="Home", properties={"path": "/"})
        else:
            message.update(type="track", event=name, properties={"product_id": "p1"})
            if name == "Order Completed":
                revenue = round(rng.uniform(5, 200), 2)
                message["properties"] = {"order_id": message_id, "revenue": revenue}
        batch.append(message)
        with ledger.lock:
            ledger.messages[message_id] = (user, counters[name], revenue)
    return batch


def deliver(session, url, key, batch, ledger: Ledger, timeout: float) -> None:
    started = time.perf_counter()
    try:
        r = session.post(url, json={"batch": batch}, auth=(key, ""), timeout=timeout)
    except requests.RequestException as exc:
        with ledger.lock:
            ledger.failures.append(f"no answer: {exc!r}"[:300])
        return
    elapsed = time.perf_counter() - started
    with ledger.lock:
        ledger.statuses[r.status_code] += 1
        ledger.latencies.append(elapsed)
        if r.status_code != 200:
            ledger.failures.append(f"{r.status_code}: {r.text[:300]}")
            return
        result = r.json()
        ledger.accepted += result["accepted"]
        ledger.duplicates += result["duplicates"]
        ledger.rejected += result["rejected"]
        bad = {batch[e["index"]]["messageId"] for e in result["errors"]}
        if bad:
            ledger.failures.append(f"rejected: {result['errors'][:3]}"[:300])
        ledger.acknowledged.update(m["messageId"] for m in batch if m["messageId"] not in bad)


def worker(n, args, url, key, ledger: Ledger, deadline, pending: collections.deque) -> int:
    rng, session, sent = random.Random(args.seed * 1000 + n), requests.Session(), 0
    while time.time() < deadline:
        batch = make_batch(rng, ledger, args.users, args.batch, args.users_per_batch)
        deliver(session, url, key, batch, ledger, args.timeout)
        sent += 1
        # the redelivery: now, or a later batch's turn (by whichever thread takes it)
        if rng.random() < 0.5:
            deliver(session, url, key, batch, ledger, args.timeout)
        else:
            pending.append(batch)
            if len(pending) > args.threads:
                deliver(session, url, key, pending.popleft(), ledger, args.timeout)
    while True:
        try:
            batch = pending.popleft()
        except IndexError:
            return sent
        deliver(session, url, key, batch, ledger, args.timeout)


def check(api: str, api_key: str, ledger: Ledger) -> tuple[int, int, list[str]]:
    expected = collections.defaultdict(collections.Counter)
    for message_id in ledger.acknowledged:
        if message_id in ledger.messages:
            user, counter, revenue = ledger.messages[message_id]
            expected[user][counter] += 1
            expected[user]["revenue_cents"] += round(revenue * 100)
    session = requests.Session()
    session.headers["x-api-key"] = api_key

    def read(user):
        r = session.get(f"{api}/projects/{PROJECT}/profiles/{user}", timeout=60)
        return user, (r.json() if r.status_code == 200 else None)

    with ThreadPoolExecutor(4) as pool:
        stored = dict(pool.map(read, list(expected)))
    lost = doubled = 0
    lines = []
    for user, want in expected.items():
        behaviour = (stored[user] or {}).get("behaviour") or {}
        have = collections.Counter({c: int(behaviour.get(c, 0)) for c in COUNTERS})
        have["revenue_cents"] = round(float(behaviour.get("revenue", 0)) * 100)
        for name in [*COUNTERS, "revenue_cents"]:
            diff = have[name] - want[name]
            if diff and name != "revenue_cents":
                lost, doubled = lost + max(0, -diff), doubled + max(0, diff)
            if diff:
                lines.append(f"{user} {name}: stored {have[name]}, expected {want[name]}")
    return lost, doubled, lines


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--batch", type=int, default=100, help="messages a batch")
    parser.add_argument("--users-per-batch", type=int, default=10)
    parser.add_argument("--users", type=int, default=2000, help="the pool of users")
    parser.add_argument("--demo-profiles", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the data folder")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="source-ingest-"))
    stack = LocalStack(tmp / "data", demo_profiles=args.demo_profiles)
    try:
        stack.start()
        out = stack.cli("create-write-key", "--project", PROJECT)
        write_key = re.search(r"^write key: (\S+)$", out.stdout, re.M).group(1)
        url = f"{stack.api}/projects/{PROJECT}/sources/segment/v1/batch"
        print(
            f"{args.threads} threads for {args.seconds:.0f}s, batches of {args.batch} messages "
            f"over {args.users_per_batch} users (of {args.users}), each batch sent twice",
            flush=True,
        )
        ledger, pending = Ledger(), collections.deque()
        started = time.time()
        deadline = started + args.seconds
        with ThreadPoolExecutor(args.threads) as pool:
            batches = sum(
                pool.map(
                    lambda n: worker(n, args, url, write_key, ledger, deadline, pending),
                    range(args.threads),
                )
            )
        elapsed = time.time() - started
        distinct = len(ledger.acknowledged)
        deliveries = ledger.accepted + ledger.duplicates + ledger.rejected
        print(f"batches: {batches} distinct, {sum(ledger.statuses.values())} deliveries")
        print(f"statuses: {dict(sorted(ledger.statuses.items()))}")
        print(
            f"messages: {distinct} distinct acknowledged in {elapsed:.1f}s = "
            f"{distinct / elapsed:,.0f} messages/s; {deliveries} delivered (resends included) = "
            f"{deliveries / elapsed:,.0f} messages/s"
        )
        print(
            f"answers: accepted {ledger.accepted}, duplicates {ledger.duplicates}, "
            f"rejected {ledger.rejected}"
        )
        lat = ledger.latencies
        print(
            f"batch latency: p50 {percentile(lat, 0.5) * 1000:.0f} ms, "
            f"p95 {percentile(lat, 0.95) * 1000:.0f} ms, p99 {percentile(lat, 0.99) * 1000:.0f} ms"
        )
        lost, doubled, lines = check(stack.api, stack.key, ledger)
        print(f"checked {len({u for u, _, _ in ledger.messages.values()})} users' profiles")
        print(f"lost messages: {lost}; messages counted twice: {doubled}")
        for line in (ledger.failures + lines)[:10]:
            print("  " + line)
        ok = not ledger.failures and not lines and ledger.accepted == distinct
        if ledger.accepted != distinct:
            print(f"accepted {ledger.accepted} != distinct acknowledged {distinct}")
        print("OK" if ok else "FAILED")
        return 0 if ok else 1
    finally:
        if getattr(stack, "proc", None) is not None and stack.proc.poll() is None:
            stack.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
