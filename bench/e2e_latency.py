"""End to end on the local stack: p50 and p95 latency over HTTP of a segment preview, a count and
the first page of members with 50,000 stored profiles, answered from the snapshot + change log,
against the plain path: one pass over the project's table (the segment evaluated on every
profile, walked page by page from the same local DynamoDB; the API no longer walks a large table
in a request), timed `--plain-runs` times.

With `--bulk-load N`: after the snapshot (the last rescore), N more profiles are loaded through
`POST /profiles` in batches of 500 by `--clients` clients, as a new user would; from 60 s after
the last batch (no manual step: the stream trigger counts the changes and queues compactions),
the preview is timed; answers that were not 200 (503 while a snapshot is made) are counted.
With `--event-rule`, the segment's "any" group also holds an event condition ("purchase at least
once in the last 30 days"), evaluated over every profile's day buckets.

    .venv/bin/python bench/e2e_latency.py [--profiles 50000 --runs 40 --plain-runs 5]
    .venv/bin/python bench/e2e_latency.py --profiles 2000 --bulk-load 48000 [--clients 4]
        [--event-rule]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEGMENT = {
    "name": "High potential",
    "match": "all",
    "rules": [
        {"field": "predictive.conversion_potential", "operator": "gte", "value": 30},
        {
            "match": "any",
            "rules": [
                {"field": "predictive.customer_type", "operator": "eq", "value": "Economical"},
                {"field": "attributes.country", "operator": "in", "value": ["NL", "BE"]},
            ],
        },
    ],
}


EVENT_RULE = {
    "event": "purchase",
    "count": {"operator": "gte", "value": 1},
    "window": {"within_last_days": 30},
}


def load(data_dir: Path, n: int) -> str:
    """Store n profiles with behaviour and predictive fields, take a snapshot; returns a key."""
    os.environ["LOCAL_DATA_DIR"] = str(data_dir)
    from chalicelib.local.session import local_store

    with local_store(data_dir):
        from chalicelib.audience.builder import snapshot_project
        from chalicelib.predict.fields import CUSTOMER_TYPES
        from chalicelib.storage import project_table
        from chalicelib.storage.profile_table import profile_key
        from chalicelib.storage.tables import ProfileModel

        project_table.create_project("bench")
        api_key, _ = project_table.create_key("bench")
        rng = np.random.default_rng(3)
        started = time.time()
        with ProfileModel.batch_write() as writer:
            for i in range(n):
                pid = f"v{i:07d}"
                orders = int(rng.geometric(0.5)) - 1
                revenue = round(float(orders * rng.lognormal(3.5, 0.6)), 2)
                writer.save(
                    ProfileModel(
                        profile_key("bench", pid),
                        pid,
                        project_id="bench",
                        attrs={
                            "country": str(rng.choice(["NL", "BE", "DE", "FR", "GB"])),
                            "newsletter": bool(rng.random() < 0.4),
                        },
                        behaviour={
                            "orders": orders,
                            "revenue": revenue,
                            "sessions": int(rng.geometric(0.3)),
                        },
                        predictive={
                            "conversion_potential": round(float(rng.beta(0.7, 3) * 100), 1),
                            "clv": round(revenue + float(rng.lognormal(3, 1)), 2),
                            "clv_predicted": round(float(rng.lognormal(3, 1)), 2),
                            "customer_type": str(rng.choice(CUSTOMER_TYPES)),
                        },
                        created_at="2026-11-01T00:00:00Z",
                        updated_at="2026-11-01T00:00:00Z",
                        version=1,
                    )
                )
        from chalicelib.storage.tables import AttributeKindModel

        AttributeKindModel("bench", "country", n_string=n).save()  # what the API would count
        AttributeKindModel("bench", "newsletter", n_boolean=n).save()
        print(f"stored {n:,} profiles in {time.time() - started:.1f}s")
        print("snapshot:", json.dumps(snapshot_project("bench")))
    return api_key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(api: str, key: str, segment_id: str, runs: int, only=None) -> dict:
    headers = {"x-api-key": key}
    calls = {
        "preview": lambda: requests.post(
            f"{api}/projects/bench/segments/preview", json=SEGMENT, headers=headers, timeout=600
        ),
        "count": lambda: requests.get(
            f"{api}/projects/bench/segments/{segment_id}/count", headers=headers, timeout=600
        ),
        "members, first page": lambda: requests.get(
            f"{api}/projects/bench/segments/{segment_id}/members?limit=50",
            headers=headers,
            timeout=600,
        ),
    }
    out = {}
    for name, call in calls.items():
        if only and name not in only:
            continue
        times, answer, refused = [], None, 0
        for _ in range(runs):
            started = time.perf_counter()
            response = call()
            times.append(time.perf_counter() - started)
            if response.status_code != 200:
                assert response.status_code == 503, response.text[:300]
                refused += 1
                continue
            answer = response.json()["count"]
        times.sort()
        out[name] = {
            "p50": statistics.median(times),
            "p95": times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))],
            "count": answer,
            "refused": refused,
        }
    return out


def one_pass(data: Path, runs: int) -> dict:
    """One pass over the project's table, evaluating the segment on every profile (what a request
    used to do without a snapshot), from this process against the stack's DynamoDB."""
    from chalicelib.audience import TableWalkAudience
    from chalicelib.local import session
    from chalicelib.rules import Catalogue, parse_rules
    from chalicelib.storage import profile_table

    stack = json.loads((data / "stack.json").read_text())
    session.local_environment(session.paths(data), stack["endpoint"])  # the stack's DynamoDB
    from chalicelib.storage.connection import bind

    bind()  # the models point at it before the first read
    if True:
        root = parse_rules(
            {k: SEGMENT[k] for k in ("match", "rules")},
            Catalogue(profile_table.attribute_kinds("bench")),
        )
        times, count = [], None
        for _ in range(runs):
            started = time.perf_counter()
            count = TableWalkAudience("bench", root).count()
            times.append(time.perf_counter() - started)
    return {"p50": statistics.median(times), "p95": max(times), "count": count}


def bulk_load(api: str, key: str, n: int, clients: int) -> tuple[float, int]:
    """n new profiles through POST /profiles, batches of 500, `clients` at once; returns the
    time the last batch was answered and how many profiles failed."""
    batches = [range(start, min(start + 500, n)) for start in range(0, n, 500)]
    failed, lock = [0], threading.Lock()
    countries = ["NL", "BE", "DE", "FR", "GB"]

    def client(mine):
        for rows in mine:
            body = {
                "profiles": [
                    {
                        "profile_id": f"bulk{i:07d}",
                        "attributes": {"country": countries[i % 5], "newsletter": i % 3 == 0},
                    }
                    for i in rows
                ]
            }
            response = requests.post(
                f"{api}/projects/bench/profiles", json=body, headers={"x-api-key": key}, timeout=600
            )
            bad = 500 if response.status_code != 200 else response.json()["failed"]
            with lock:
                failed[0] += bad

    threads = [threading.Thread(target=client, args=(batches[i::clients],)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.time(), failed[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profiles", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--plain-runs", type=int, default=3)
    parser.add_argument("--bulk-load", type=int, default=0, help="profiles loaded via the API")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--event-rule", action="store_true", help="an event condition too")
    args = parser.parse_args()
    if args.event_rule:
        SEGMENT["rules"][1]["rules"].append(EVENT_RULE)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "store"
        key = load(data, args.profiles)
        port = free_port()
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("AWS_")
            and k not in ("TABLE_PREFIX", "CURSOR_SECRET", "DYNAMODB_ENDPOINT", "S3_ENDPOINT")
        }
        env.update(
            {
                "LOCAL_DATA_DIR": str(data),
                "DEMO_PROFILES": "0",
                "PORT": str(port),
                "LOCAL_FIRST_SCHEDULE_SECONDS": "100000",
            }
        )  # no rescore mid-measurement
        log = open(Path(tmp) / "stack.log", "w")
        stack = subprocess.Popen(
            [sys.executable, "-m", "chalicelib.local.stack"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        api = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                text = (Path(tmp) / "stack.log").read_text()
                if "Serving on" in text:
                    break
                time.sleep(0.5)
            started = re.search(r"loaded (\d+) items", text)
            print(f"local stack up ({started.group(1) if started else '?'} items loaded)")
            created = requests.post(
                f"{api}/projects/bench/segments",
                json=SEGMENT,
                headers={"x-api-key": key},
                timeout=60,
            ).json()
            segment_id = created["segment_id"]
            # a few changes a moment ago: the overlay must count them
            requests.put(
                f"{api}/projects/bench/profiles/fresh",
                json={"attributes": {"country": "NL"}},
                headers={"x-api-key": key},
                timeout=60,
            )
            for _ in range(60):  # the stream trigger scores it within a second or so
                fresh = requests.get(
                    f"{api}/projects/bench/profiles/fresh", headers={"x-api-key": key}, timeout=60
                ).json()
                if fresh["predictive"]:
                    break
                time.sleep(0.5)
            only = None
            if args.bulk_load:
                started = time.time()
                last, failed = bulk_load(api, key, args.bulk_load, args.clients)
                print(
                    f"loaded {args.bulk_load:,} profiles through POST /profiles in "
                    f"{last - started:.0f} s ({args.bulk_load / (last - started):.0f}/s), "
                    f"{failed} failed; previews from 60 s after the last batch"
                )
                time.sleep(max(0.0, last + 60 - time.time()))
                only = {"preview"}
            fast = measure(api, key, segment_id, args.runs, only)
            plain = one_pass(data, args.plain_runs)
            log_text = (Path(tmp) / "stack.log").read_text()
            print(f"compactions logged by the stack: {log_text.count('work Compact done')}")
            again = re.findall(r"written again after landing late, so far: (\d+)", log_text)
            if again:
                print(f"change entries written again after landing late: {again[-1]}")
        except BaseException:
            print((Path(tmp) / "stack.log").read_text()[-4000:])
            raise
        finally:
            stack.send_signal(signal.SIGTERM)  # like Ctrl-C; SIGINT is ignored in a background job
            stack.wait(timeout=120)
    total = args.profiles + args.bulk_load + 1
    print(
        f"\n{total:,} profiles; snapshot runs {args.runs}, one pass over the table x{args.plain_runs}"
    )
    print(
        f"{'request':22} {'count':>7} {'p50 ms':>8} {'p95 ms':>8} {'not 200':>8} "
        f"{'pass p50 ms':>12} {'speed-up vs p95':>16}"
    )
    for name, f in fast.items():
        if f["count"] != plain["count"]:
            print(f"  note: {name} counted {f['count']}, the pass {plain['count']}")
        print(
            f"{name:22} {f['count'] or 0:7,} {f['p50'] * 1e3:8.1f} {f['p95'] * 1e3:8.1f} "
            f"{f['refused']:8} {plain['p50'] * 1e3:12.0f} {plain['p50'] / f['p95']:15.0f}x"
        )
    print("goal: p95 under 300 ms and at least 20x faster than one pass over the project")


if __name__ == "__main__":
    main()
