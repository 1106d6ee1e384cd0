"""End to end on the local stack: p50 and p95 latency over HTTP of a segment preview, a count and
the first page of members with 50,000 stored profiles, answered from the snapshot + change log,
against the plain path (the same requests with the snapshot pointer removed, so the service walks
the table page by page), in one run.

    .venv/bin/python bench/e2e_latency.py [--profiles 50000 --runs 40 --plain-runs 5]
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


def measure(api: str, key: str, segment_id: str, runs: int) -> dict:
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
        times, answer = [], None
        for _ in range(runs):
            started = time.perf_counter()
            response = call()
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text[:300]
            answer = response.json()["count"]
        times.sort()
        out[name] = {
            "p50": statistics.median(times),
            "p95": times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))],
            "count": answer,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profiles", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--plain-runs", type=int, default=5)
    args = parser.parse_args()
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
            fast = measure(api, key, segment_id, args.runs)
            stack_info = json.loads((data / "stack.json").read_text())
            import boto3

            boto3.client(
                "dynamodb",
                endpoint_url=stack_info["endpoint"],
                region_name="us-east-1",
                aws_access_key_id="local",
                aws_secret_access_key="local",
            ).update_item(
                TableName="local-projects",
                Key={"project_id": {"S": "bench"}},
                UpdateExpression="REMOVE snapshot_key, snapshot_at",
            )
            plain = measure(api, key, segment_id, args.plain_runs)
        except BaseException:
            print((Path(tmp) / "stack.log").read_text()[-4000:])
            raise
        finally:
            stack.send_signal(signal.SIGINT)
            stack.wait(timeout=120)
    print(f"\n{args.profiles:,} profiles; snapshot runs {args.runs}, plain runs {args.plain_runs}")
    print(
        f"{'request':22} {'count':>7} {'p50 ms':>8} {'p95 ms':>8} {'plain p50':>10} "
        f"{'plain p95':>10} {'speed-up p95':>13}"
    )
    for name in fast:
        f, p = fast[name], plain[name]
        assert f["count"] == p["count"], (name, f["count"], p["count"])
        print(
            f"{name:22} {f['count']:7,} {f['p50'] * 1e3:8.1f} {f['p95'] * 1e3:8.1f} "
            f"{p['p50'] * 1e3:10.0f} {p['p95'] * 1e3:10.0f} {p['p95'] / f['p95']:12.0f}x"
        )
    print("goal: p95 under 300 ms and at least 20x faster than the plain path")


if __name__ == "__main__":
    main()
