"""Load test of the local stack: events and segment reads mixed, for a bounded time, then a check
that no event was lost.

Starts a fresh local stack (moto + chalice local server, as `make run` does) in a temporary data
folder with a small demo project, saves a few segments, waits for the stack's first scheduled
rescore and segment evaluations, then runs N client threads for --seconds, each sending a mix of
- POST /events batches shaped like a site tracker's: the recent events of 1-3 visitors (each with a
  unique event_id; the visitors drawn from a known set of new and demo profiles), with some events
  of those visitors sent again on purpose (possibly while another thread is sending them), now and
  then the same event twice in one batch, and now and then an earlier batch resent whole;
- POST /segments/preview with the rules of the brief;
- GET /segments/{id}/count and GET /segments/{id}/members of the saved segments.
It prints, per request type, the number of requests, throughput, p50/p95/p99 latency and the
errors by status. Then it waits for the stack's background work (stream trigger scoring) to settle
and checks, for every profile the load touched, that the stored behaviour counters (sessions,
page_views, ..., orders, discount_interactions, revenue) moved by exactly what the acknowledged
events imply: each distinct (profile_id, event_id) that got a 2xx without an error for its index
(so "accepted" or "duplicate") counted once, however often it was sent.

Exits non-zero if an event was lost or counted twice, a request got a 5xx or no answer within
--timeout, or the profiles did not settle.

Locally every profile write is a DynamoDB transaction in moto, which deep-copies each table the
transaction touches (the events table included) and runs behind the stack's one moto lock: writes
cost time in proportion to the stored data and do not run in parallel, so the figures here say
how the local stack behaves, not what Lambda + DynamoDB would do.

    .venv/bin/python bench/load_test.py [--seconds 60 --threads 8 --demo-profiles 500]
    make load-test LOAD_ARGS="--seconds 20"
"""

from __future__ import annotations

import argparse
import collections
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from load_traffic import (
    EVENT_TYPES,
    PREVIEWS,
    PROJECT,
    Client,
    Ledger,
    Recorder,
    parse_mix,
    percentile,
    span,
)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from running_stack import LocalStack  # noqa: E402  (the suite's stack starter)

TIMEOUT = 60
COUNTERS = (
    "sessions",
    "page_views",
    "product_views",
    "add_to_cart",
    "searches",
    "checkouts",
    "orders",
    "discount_interactions",
)


# -- the check ------------------------------------------------------------------------------------
def read_profiles(api: str, key: str, ids: list[str]) -> dict[str, dict | None]:
    session = requests.Session()
    session.headers.update({"x-api-key": key})

    def one(pid):
        for _attempt in range(3):
            try:
                r = session.get(f"{api}{PROJECT}/profiles/{pid}", timeout=TIMEOUT)
                if r.status_code == 404:
                    return pid, None
                if r.status_code == 200:
                    return pid, r.json()
            except requests.RequestException:
                pass
            time.sleep(1)
        raise RuntimeError(f"could not read profile {pid}")

    with ThreadPoolExecutor(4) as pool:
        return dict(pool.map(one, ids))


def expected_counts(ledger: Ledger) -> tuple[dict, dict]:
    """Per profile: what the acknowledged events imply, and what the uncertain ones could add."""
    sure = collections.defaultdict(collections.Counter)
    maybe = collections.defaultdict(collections.Counter)
    for (pid, _), sent in ledger.events.items():
        if sent.sends == 0:
            continue
        target = sure[pid] if sent.confirmed else maybe[pid]
        event = sent.event
        counter = EVENT_TYPES[event["type"]][1]
        if counter:
            target[counter] += 1
        if event.get("properties", {}).get("discount") is True:
            target["discount_interactions"] += 1
        if event["type"] == "purchase":
            target["revenue_cents"] += round(event["value"] * 100)
        target["events"] += 1
    return sure, maybe


def stored_counts(profile: dict | None) -> collections.Counter:
    behaviour = (profile or {}).get("behaviour") or {}
    out = collections.Counter({c: int(behaviour.get(c, 0)) for c in COUNTERS})
    out["revenue_cents"] = round(float(behaviour.get("revenue", 0)) * 100)
    return out


def unsettled(previous: dict | None, current: dict[str, dict | None]) -> list[str]:
    """Profiles not yet at rest: changed since the previous sweep, or not scored at all. (A scoring
    that gives the same scores writes nothing, so `scored_at` may stay older than `updated_at`.)"""
    if previous is None:
        return list(current)

    def state(p):
        return p and (p.get("updated_at"), p.get("behaviour"), p.get("predictive"))

    return [
        pid
        for pid, p in current.items()
        if p is not None and (state(p) != state(previous.get(pid)) or not p.get("predictive"))
    ]


def settle(api: str, key: str, ids: list[str], timeout: float) -> tuple[dict, float, list[str]]:
    """Sweeps of every touched profile until two in a row are the same and all are scored (the
    stream trigger has caught up); returns the last sweep, the time it took, what still moved."""
    started = time.time()
    previous = None
    while True:
        current = read_profiles(api, key, ids)
        moving = unsettled(previous, current)
        if not moving or time.time() - started > timeout:
            return current, time.time() - started, moving
        previous = current
        time.sleep(2)


def warm_up(api: str, key: str, segments: list[str], timeout: float) -> tuple[float, str]:
    """Wait for what a fresh stack does first: the scheduled rescore shortly after start (it writes
    every profile's scores and the columnar snapshot) and then the evaluation of every segment."""
    session = requests.Session()
    session.headers.update({"x-api-key": key})
    started = time.time()
    while time.time() - started < timeout:
        jobs = session.get(f"{api}{PROJECT}/jobs", timeout=TIMEOUT).json()["jobs"]
        if jobs and not any(j["status"] == "running" for j in jobs):
            evaluated = all(
                any(
                    h.get("trigger") != "saved"
                    for h in session.get(f"{api}{PROJECT}/segments/{sid}/stats", timeout=TIMEOUT)
                    .json()
                    .get("history", [])
                )
                for sid in segments
            )
            if evaluated:
                return time.time() - started, "rescored and segments evaluated"
        time.sleep(2)
    return time.time() - started, "NOT finished (the load starts anyway)"


# -- main -----------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--demo-profiles", type=int, default=500, help="profiles the demo seeds")
    parser.add_argument(
        "--new-profiles", type=int, default=200, help="profiles the load creates by its events"
    )
    parser.add_argument(
        "--demo-touched", type=int, default=100, help="demo profiles that also receive events"
    )
    parser.add_argument("--visitors", default="1-3", help="profiles per events batch, low-high")
    parser.add_argument(
        "--events-per-visitor", default="2-8", help="new events per profile in a batch, low-high"
    )
    parser.add_argument(
        "--redeliver",
        type=float,
        default=0.3,
        help="chance that a profile's part of a batch also resends 1-2 of its earlier events",
    )
    parser.add_argument(
        "--resend",
        type=float,
        default=0.05,
        help="chance that an events request resends an earlier batch whole",
    )
    parser.add_argument("--timeout", type=float, default=300, help="client timeout, seconds")
    parser.add_argument("--mix", default="events=50,preview=20,count=15,members=15")
    parser.add_argument(
        "--warmup-timeout",
        type=float,
        default=600,
        help="at most this long for the first rescore before the load",
    )
    parser.add_argument("--settle-timeout", type=float, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the data folder (and stack.log)")
    args = parser.parse_args()
    parse_mix(args.mix), span(args.visitors), span(args.events_per_visitor)  # fail early
    demo_touched = min(args.demo_touched, args.demo_profiles)

    tmp = Path(tempfile.mkdtemp(prefix="load-test-"))
    stack = LocalStack(tmp / "data", demo_profiles=args.demo_profiles)
    failed = True
    try:
        t0 = time.time()
        stack.start(timeout=600)
        api, key = stack.api, stack.key
        print(
            f"local stack up on {api} in {time.time() - t0:.0f}s "
            f"({args.demo_profiles} demo profiles; data in {tmp / 'data'})",
            flush=True,
        )
        headers = {"x-api-key": key}
        segments = []
        for name, rules in PREVIEWS.items():
            r = requests.post(
                f"{api}{PROJECT}/segments",
                json={"name": name, **rules},
                headers=headers,
                timeout=TIMEOUT,
            )
            assert r.status_code == 201, r.text
            segments.append(r.json()["segment_id"])
        profiles = [f"lt{i:04d}" for i in range(args.new_profiles)] + [
            f"v{i:06d}" for i in range(demo_touched)
        ]
        baseline = read_profiles(api, key, profiles)
        assert all(baseline[p] is None for p in profiles[: args.new_profiles]), (
            "load-test profiles exist before the load"
        )
        print(
            f"{len(segments)} segments saved; {len(profiles)} profiles will receive events "
            f"({args.new_profiles} new, {demo_touched} of the demo's)",
            flush=True,
        )
        waited, state = warm_up(api, key, segments, args.warmup_timeout)
        print(f"first scheduled rescore: {state} after {waited:.0f}s", flush=True)

        ledger, recorder = Ledger(), Recorder()
        clients = [
            Client(n, api, key, profiles, segments, ledger, recorder, args)
            for n in range(args.threads)
        ]
        print(f"load: {args.threads} threads for {args.seconds:.0f}s, mix {args.mix}", flush=True)
        started = time.perf_counter()
        deadline = started + args.seconds
        threads = [threading.Thread(target=c.run, args=(deadline,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started

        # -- the figures
        print(
            f"\n{args.threads} client threads, {elapsed:.1f}s (the clients and the stack share "
            f"this machine's CPUs)"
        )
        print(
            f"{'request':10} {'n':>7} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
            f"{'max ms':>8}  errors"
        )
        total_n = server_errors = exceptions = 0
        for kind in ("events", "preview", "count", "members"):
            stats = recorder.by_kind.get(kind)
            if not stats:
                continue
            lat = sorted(stats.latencies)
            total_n += len(lat)
            errors = {s: n for s, n in sorted(stats.statuses.items()) if not 200 <= s < 300}
            errors.update(stats.exceptions)
            server_errors += sum(n for s, n in stats.statuses.items() if s >= 500)
            exceptions += sum(stats.exceptions.values())
            print(
                f"{kind:10} {len(lat):7} {len(lat) / elapsed:7.1f} "
                f"{percentile(lat, 50) * 1e3:8.0f} {percentile(lat, 95) * 1e3:8.0f} "
                f"{percentile(lat, 99) * 1e3:8.0f} {lat[-1] * 1e3:8.0f}  "
                f"{', '.join(f'{s}: {n}' for s, n in errors.items()) or 0}"
            )
        print(f"{'all':10} {total_n:7} {total_n / elapsed:7.1f}")
        distinct = sum(1 for s in ledger.events.values() if s.sends)
        confirmed = sum(1 for s in ledger.events.values() if s.confirmed)
        uncertain = sum(1 for s in ledger.events.values() if s.uncertain and not s.confirmed)
        print(
            f"\nevents sent {ledger.events_sent} ({ledger.events_sent / elapsed:.0f}/s) = "
            f"{distinct} distinct + {ledger.events_sent - distinct} redeliveries; answers: "
            f"accepted {ledger.accepted_total}, duplicate {ledger.duplicates_total}, "
            f"rejected {ledger.rejected_total} {dict(ledger.reject_codes) or ''}"
        )
        print(f"distinct events acknowledged {confirmed}, never acknowledged {uncertain}")
        if recorder.failures:
            print("\n5xx answers and exceptions (first 10):")
            for line in recorder.failures:
                print("  " + line)
        for line in ledger.mismatched_answers[:5]:
            print("  answer whose counts do not add up:", line)

        # -- zero lost events
        print(
            f"\nwaiting for the background work to settle (at most {args.settle_timeout:.0f}s)...",
            flush=True,
        )
        stored, waited, moving = settle(api, key, profiles, args.settle_timeout)
        quiet = not moving
        print(
            f"settled after {waited:.0f}s"
            if quiet
            else f"NOT settled after {waited:.0f}s: "
            f"{len(moving)} profiles still changing or unscored, e.g. {moving[:5]}"
        )
        sure, maybe = expected_counts(ledger)
        lost, extra, examples = 0, 0, []
        for pid in profiles:
            before, after = stored_counts(baseline[pid]), stored_counts(stored[pid])
            for name in (*COUNTERS, "revenue_cents"):
                got = after[name] - before[name]
                want, could = sure[pid][name], maybe[pid][name]
                if got < want:
                    lost += want - got if name != "revenue_cents" else 0
                    examples.append(f"{pid} {name}: stored {got}, acknowledged {want}")
                elif got > want + could:
                    extra += got - want - could if name != "revenue_cents" else 0
                    examples.append(
                        f"{pid} {name}: stored {got}, acknowledged {want} (+{could} unacknowledged)"
                    )
        counted = sum(sum(v for k, v in sure[p].items() if k in COUNTERS) for p in profiles)
        print(
            f"checked {len(profiles)} profiles, {counted} counter increments from "
            f"{confirmed} acknowledged events (each redelivery counted once)"
        )
        if confirmed + uncertain and not uncertain:
            same = ledger.accepted_total == confirmed
            print(
                f"'accepted' summed over all answers = distinct events: "
                f"{ledger.accepted_total} vs {confirmed} ({'ok' if same else 'MISMATCH'})"
            )
            if not same:
                extra += abs(ledger.accepted_total - confirmed)
        print(f"lost events: {lost}")
        print(f"events counted more than once: {extra}")
        for line in examples[:10]:
            print("  " + line)
        failed = bool(
            lost or extra or server_errors or exceptions or ledger.mismatched_answers or not quiet
        )
        if failed:
            print(
                f"\nFAILED ({lost} lost, {extra} over-counted, {server_errors} 5xx, "
                f"{exceptions} without answer{'' if quiet else ', did not settle'}); "
                f"stack log: {stack.log}"
            )
        else:
            print("\nOK: no 5xx, no lost events, redeliveries counted once")
    finally:
        if getattr(stack, "proc", None) is not None and stack.proc.poll() is None:
            # SIGTERM, which the stack handles like Ctrl-C (SIGINT can be ignored in a background
            # job); it saves the store and stops
            stack.proc.send_signal(signal.SIGTERM)
            try:
                stack.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                print("the stack did not stop within 120 s; killing it")
                stack.proc.kill()
                stack.proc.wait()
        if failed or args.keep:
            print(f"kept the data folder {tmp / 'data'} (stack.log inside)")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
