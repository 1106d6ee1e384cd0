"""The slowest requests a client can send within the documented limits, timed on the demo project
of a fresh local stack (as `make run` starts it, 2,000 generated profiles by default).

Each request is the largest of its kind the API accepts: a preview and a saved segment with the
most expensive rule tree within the limits (bench/rule_limits.py's worst body: 200 nodes, 50
conditions, 64 KB), its members (500 a page), count and exports (CSV, customer match); an events
batch of 500 events for 500 profiles and one of 500 events for a single profile; 500 profiles of
64 attributes each; a page of 500 profiles. Times are wall clock on loopback (an upper bound of
server time), the maximum of --repeats runs each, against the 2 s goal of the reliability issue.

    .venv/bin/python bench/request_times.py [--demo-profiles 2000 --repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
from rule_limits import worst_body  # noqa: E402
from running_stack import LocalStack  # noqa: E402

GOAL_SECONDS = 2.0


def timed(method: str, url: str, key: str, body=None) -> tuple[float, int]:
    started = time.perf_counter()
    r = requests.request(method, url, json=body, headers={"x-api-key": key}, timeout=300)
    return time.perf_counter() - started, r.status_code


def cases(project: str, segment_id: str, run: int) -> list[tuple[str, str, str, object]]:
    now = datetime.now(timezone.utc) - timedelta(hours=1)
    stamp = (now - timedelta(minutes=run)).strftime("%Y-%m-%dT%H:%M:%SZ")
    wide = [
        {
            "event_id": f"w{run}-{i}",
            "type": "page_view",
            "profile_id": f"v{i:06d}",
            "timestamp": stamp,
        }
        for i in range(500)
    ]
    one = [
        {
            "event_id": f"o{run}-{i}",
            "type": "page_view",
            "profile_id": "v000001",
            "timestamp": (now - timedelta(days=i % 300)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        for i in range(500)
    ]
    profiles = [
        {
            "profile_id": f"big{run}-{i:03d}",
            "attributes": {f"a{j:02d}": f"value {j} of {i}" for j in range(64)},
        }
        for i in range(500)
    ]
    p = f"/projects/{project}"
    return [
        ("preview, worst rule tree", "POST", f"{p}/segments/preview", worst_body()),
        ("members, 500 a page", "GET", f"{p}/segments/{segment_id}/members?limit=500", None),
        ("count", "GET", f"{p}/segments/{segment_id}/count", None),
        ("export, CSV", "GET", f"{p}/segments/{segment_id}/export", None),
        (
            "export, customer match",
            "GET",
            f"{p}/segments/{segment_id}/export?customer_match=true",
            None,
        ),
        ("events, 500 profiles", "POST", f"{p}/events", {"events": wide}),
        ("events, 500 for one profile", "POST", f"{p}/events", {"events": one}),
        ("profiles, 500 x 64 attributes", "POST", f"{p}/profiles", {"profiles": profiles}),
        ("profiles, a page of 500", "GET", f"{p}/profiles?limit=500", None),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--demo-profiles", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    stack = LocalStack(
        Path(tempfile.mkdtemp(prefix="request-times-")) / "data", demo_profiles=args.demo_profiles
    ).start(timeout=900)
    try:
        project, key = "demo", stack.key
        body = {"name": "worst within the limits", **worst_body()}
        r = requests.post(
            f"{stack.api}/projects/{project}/segments",
            json=body,
            headers={"x-api-key": key},
            timeout=300,
        )
        assert r.status_code == 201, r.text
        segment_id = r.json()["segment_id"]
        worst: dict[str, tuple[float, int]] = {}
        for run in range(args.repeats):
            for name, method, path, payload in cases(project, segment_id, run):
                seconds, status = timed(method, stack.api + path, key, payload)
                assert status < 500, (name, status)
                if seconds > worst.get(name, (0, 0))[0]:
                    worst[name] = (seconds, status)
        print(
            f"\n{args.demo_profiles} demo profiles, slowest of {args.repeats} runs each "
            f"(goal: under {GOAL_SECONDS:.0f} s)"
        )
        print(f"{'request':34} {'status':>6} {'seconds':>8}")
        for name, (seconds, status) in worst.items():
            flag = "" if seconds < GOAL_SECONDS else "  OVER"
            print(f"{name:34} {status:>6} {seconds:>8.3f}{flag}")
        return 0 if all(s < GOAL_SECONDS for s, _ in worst.values()) else 1
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
