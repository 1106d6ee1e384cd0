"""Ingest speed through the batch API on a fresh local stack (as `make run` starts it): batches of
500 new profiles (--attributes each) to POST /profiles, then batches of 500 events of 500
profiles to POST /events, sent by --clients threads. Prints profiles/s and events/s (wall clock,
all batches) and the slowest batch. The goal of the local stack: 1,000 profiles/s.

    .venv/bin/python bench/ingest_api.py [--batches 10 --attributes 10 --clients 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from running_stack import LocalStack  # noqa: E402

BATCH = 500


def profiles_batch(b: int, attributes: int) -> dict:
    return {
        "profiles": [
            {
                "profile_id": f"b{b}-{i:03d}",
                "attributes": {
                    f"a{j:02d}": (i * j if j % 3 else f"value {j}") for j in range(attributes)
                },
            }
            for i in range(BATCH)
        ]
    }


def events_batch(b: int) -> dict:
    return {
        "events": [
            {
                "event_id": f"e{b}-{i}",
                "type": "page_view",
                "profile_id": f"b{b}-{i:03d}",
                "timestamp": "2026-11-01T10:00:00Z",
            }
            for i in range(BATCH)
        ]
    }


def run(api: str, key: str, path: str, bodies: list[dict], clients: int) -> tuple[float, float]:
    session = requests.Session()
    session.headers["x-api-key"] = key

    def send(body: dict) -> float:
        started = time.perf_counter()
        r = session.post(f"{api}/projects/demo{path}", json=body, timeout=600)
        assert r.status_code == 200, r.text[:300]
        data = r.json()
        assert not data.get("failed") and not data.get("rejected"), str(data)[:300]
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        slowest = max(pool.map(send, bodies))
    return time.perf_counter() - started, slowest


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--attributes", type=int, default=10)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--demo-profiles", type=int, default=200)
    args = parser.parse_args()
    stack = LocalStack(
        Path(tempfile.mkdtemp(prefix="ingest-api-")) / "data", demo_profiles=args.demo_profiles
    ).start(timeout=600)
    try:
        n = args.batches * BATCH
        took, slowest = run(
            stack.api,
            stack.key,
            "/profiles",
            [profiles_batch(b, args.attributes) for b in range(args.batches)],
            args.clients,
        )
        print(
            f"profiles: {n} of {args.attributes} attributes in {took:.1f} s = {n / took:,.0f}/s "
            f"({args.clients} clients; slowest batch of {BATCH}: {slowest:.2f} s)"
        )
        took, slowest = run(
            stack.api,
            stack.key,
            "/events",
            [events_batch(b) for b in range(args.batches)],
            args.clients,
        )
        print(
            f"events:   {n} of {n} profiles in {took:.1f} s = {n / took:,.0f}/s "
            f"({args.clients} clients; slowest batch of {BATCH}: {slowest:.2f} s)"
        )
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
