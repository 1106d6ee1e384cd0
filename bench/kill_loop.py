"""Kill -9 loop for the local stack's store (chalicelib/local/saved_state.py, journal.py).

Starts the real local stack (`python -m chalicelib.local.stack`) on a free loopback port with its
own data folder, sends mixed writes through the HTTP API (event batches, profile attributes,
segments) from a few threads, kills the stack with SIGKILL at a random moment, starts it again
and checks, for every round:

- the store loaded (no save reported unreadable, the stack came up);
- every acknowledged write is there: each acknowledged event batch sent again is all duplicates,
  each profile attribute is at least its last acknowledged value, each acknowledged segment exists;
- each profile's counters equal its stored events (the duplicates found by sending every batch
  of the round again, acknowledged or not), and after that every event sent is counted once.

At the end every profile of every round is checked again. Prints the figures; exit status 1 if
any check failed.

    python bench/kill_loop.py --kills 50
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "demo"
COUNTED = {"session_start": "sessions", "page_view": "page_views", "product_view": "product_views"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    def __init__(self, data_dir: Path, save_seconds: float, demo_profiles: int):
        self.data_dir, self.save_seconds = data_dir, save_seconds
        self.demo_profiles = demo_profiles
        self.proc = None
        self.logs: list[str] = []

    def start(self, timeout: float = 180) -> float:
        self.port = free_port()
        self.api = f"http://127.0.0.1:{self.port}"
        env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith("AWS_")
                and k not in ("TABLE_PREFIX", "CURSOR_SECRET", "DYNAMODB_ENDPOINT")
            },
            "LOCAL_DATA_DIR": str(self.data_dir),
            "PORT": str(self.port),
            "DEMO_PROFILES": str(self.demo_profiles),
            "LOCAL_SAVE_SECONDS": str(self.save_seconds),
            "PYTHONFAULTHANDLER": "1",
        }  # SIGABRT on a stop that hangs prints every thread
        self.log = self.data_dir.parent / f"stack-{len(self.logs)}.log"
        started = time.time()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "chalicelib.local.stack"],
            cwd=ROOT,
            env=env,
            stdout=open(self.log, "w"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        while time.time() - started < timeout:
            text = self.log.read_text()
            key = re.search(r"^API key: (\S+)$", text, re.MULTILINE)
            if key and self._up():
                self.key = key.group(1)
                self.logs.append(text)
                return time.time() - started
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        self.logs.append(self.log.read_text())
        raise RuntimeError("the stack did not start:\n" + self.logs[-1][-3000:])

    def _up(self) -> bool:
        try:
            requests.get(self.api + "/", timeout=1)
            return True
        except requests.RequestException:
            return False

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def call(self, method: str, path: str, body=None, timeout: float = 30):
        r = requests.request(
            method,
            f"{self.api}/projects/{PROJECT}{path}",
            json=body,
            headers={"x-api-key": self.key},
            timeout=timeout,
        )
        return r.status_code, (r.json() if r.content else None)


class Round:
    """The writes of one round (between two kills) and what was acknowledged."""

    def __init__(self, number: int, profiles: int):
        self.number = number
        self.profiles = [f"k{number:03d}-{i}" for i in range(profiles)]
        self.batches: list[tuple[str, list[dict], bool]] = []  # profile, events, acknowledged
        self.attributes: dict[tuple[str, str], int] = {}  # (profile, writer) -> last acked
        self.segments: list[str] = []
        self.lock = threading.Lock()

    def write(self, stack: Stack, writer: int, stop: threading.Event, rng: random.Random):
        n = 0
        while not stop.is_set():
            n += 1
            profile = rng.choice(self.profiles)
            try:
                if n % 7 == 0:
                    status, body = stack.call(
                        "PUT", f"/profiles/{profile}", {"attributes": {f"w{writer}": n}}
                    )
                    if status in (200, 201):
                        with self.lock:
                            self.attributes[(profile, f"w{writer}")] = n
                elif n % 23 == 0:
                    status, body = stack.call(
                        "POST",
                        "/segments",
                        {
                            "name": f"r{self.number}-w{writer}-{n}",
                            "match": "all",
                            "rules": [
                                {"field": "behaviour.page_views", "operator": "gte", "value": 1}
                            ],
                        },
                    )
                    if status in (200, 201):
                        with self.lock:
                            self.segments.append(body["segment_id"])
                else:
                    events = [
                        {
                            "event_id": f"r{self.number}w{writer}n{n}e{i}",
                            "profile_id": profile,
                            "type": rng.choice(list(COUNTED)),
                            "timestamp": "2026-11-01T10:00:00Z",
                        }
                        for i in range(rng.randint(1, 5))
                    ]
                    with self.lock:
                        index = len(self.batches)
                        self.batches.append((profile, events, False))
                    status, body = stack.call("POST", "/events", {"events": events})
                    if status == 200 and body["rejected"] == 0:
                        with self.lock:
                            self.batches[index] = (profile, events, True)
            except (requests.RequestException, ValueError):
                return  # the stack is gone (killed)


def counted(stack: Stack, profile: str) -> tuple[int, dict]:
    status, body = stack.call("GET", f"/profiles/{profile}")
    if status == 404:
        return 0, {}
    assert status == 200, (status, body)
    behaviour = body.get("behaviour") or {}
    return sum(int(behaviour.get(c, 0)) for c in COUNTED.values()), body.get("attributes") or {}


def check_round(stack: Stack, rnd: Round, figures: dict) -> None:
    by_profile = {p: [] for p in rnd.profiles}
    for profile, events, acked in rnd.batches:
        by_profile[profile].append((events, acked))
    for profile, batches in by_profile.items():
        before, attributes = counted(stack, profile)
        for (p, writer), value in rnd.attributes.items():
            if p == profile and int(attributes.get(writer, 0)) < value:
                figures["lost_attribute_writes"] += 1
        stored = 0
        for events, acked in sorted(batches, key=lambda b: not b[1]):  # acknowledged first
            status, body = stack.call("POST", "/events", {"events": events})
            assert status == 200 and body["rejected"] == 0, (status, body)
            stored += body["duplicates"]
            if acked:
                figures["acked_events"] += len(events)
                figures["lost_acked_events"] += body["accepted"]
        if before != stored:
            figures["inconsistent_profiles"] += 1
            print(f"  {profile}: counters {before}, stored events {stored}", flush=True)
        after, _ = counted(stack, profile)
        if after != sum(len(events) for events, _ in batches):
            figures["unrepaired_profiles"] += 1
    for segment in rnd.segments:
        figures["acked_segments"] += 1
        if stack.call("GET", f"/segments/{segment}")[0] != 200:
            figures["lost_segments"] += 1


def final_check(stack: Stack, rounds: list[Round], figures: dict) -> None:
    for rnd in rounds:
        sent = {p: 0 for p in rnd.profiles}
        for profile, events, _ in rnd.batches:
            sent[profile] += len(events)
        for profile, total in sent.items():
            if counted(stack, profile)[0] != total:
                figures["final_mismatched_profiles"] += 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--writers", type=int, default=3)
    parser.add_argument("--profiles", type=int, default=4, help="profiles written per round")
    parser.add_argument(
        "--save-seconds",
        type=float,
        default=2.0,
        help="the stack's save interval (short, so kills land in saves)",
    )
    parser.add_argument(
        "--demo-profiles",
        type=int,
        default=300,
        help="seeded on the first start: a store big enough for saves to take time",
    )
    parser.add_argument(
        "--max-wait",
        type=float,
        default=5.0,
        help="a kill comes uniformly 0.2..max-wait s after writes start",
    )
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--keep", action="store_true", help="keep the data folder")
    args = parser.parse_args(argv)
    # Run in the background, this script inherits an ignored SIGINT, and so would the stack,
    # which would then never see the final Ctrl-C; a handled signal is reset at exec.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="kill-loop-"))
    data = work / "data"
    data.mkdir()
    figures = dict.fromkeys(
        [
            "kills",
            "kills_cutting_a_save_short",
            "unreadable_stores",
            "failed_starts",
            "acked_events",
            "lost_acked_events",
            "lost_attribute_writes",
            "acked_segments",
            "lost_segments",
            "inconsistent_profiles",
            "unrepaired_profiles",
            "final_mismatched_profiles",
            "final_stop_seconds",
        ],
        0,
    )
    starts, replayed, rounds = [], [], []
    stack = Stack(data, args.save_seconds, args.demo_profiles)
    print(
        f"kill loop: {args.kills} kills, seed {args.seed}, saves every {args.save_seconds}s, "
        f"data {data}",
        flush=True,
    )
    try:
        starts.append(stack.start())
        for number in range(args.kills):
            rnd = Round(number, args.profiles)
            rounds.append(rnd)
            stop = threading.Event()
            writers = [
                threading.Thread(
                    target=rnd.write, args=(stack, w, stop, random.Random(rng.random()))
                )
                for w in range(args.writers)
            ]
            for w in writers:
                w.start()
            time.sleep(rng.uniform(0.2, args.max_wait))
            stack.kill()
            figures["kills"] += 1
            stop.set()
            for w in writers:
                w.join()
            if list(data.glob("dynamodb.json.gz.*tmp")):  # a save was being written
                figures["kills_cutting_a_save_short"] += 1
            try:
                starts.append(stack.start())
            except RuntimeError as exc:
                figures["failed_starts"] += 1
                print(exc, flush=True)
                break
            log = stack.logs[-1]
            if "unreadable" in log:
                figures["unreadable_stores"] += 1
            found = re.search(r"replayed (\d+) journal records", log)
            replayed.append(int(found.group(1)) if found else 0)
            check_round(stack, rnd, figures)
            print(
                f"round {number + 1}: {sum(b[2] for b in rnd.batches)}/{len(rnd.batches)} "
                f"batches acknowledged, {replayed[-1]} journal records replayed; "
                f"lost so far {figures['lost_acked_events']}, inconsistent so far "
                f"{figures['inconsistent_profiles']}",
                flush=True,
            )
        if not figures["failed_starts"]:
            final_check(stack, rounds, figures)
            started = time.time()
            stack.proc.send_signal(signal.SIGINT)  # Ctrl-C: the final save
            try:
                stack.proc.wait(timeout=120)
                figures["final_stop_seconds"] = round(time.time() - started, 1)
            except subprocess.TimeoutExpired:
                figures["final_stop_seconds"] = None
                stack.proc.send_signal(signal.SIGABRT)
                stack.proc.wait()
                print("the final stop hung:\n" + stack.log.read_text()[-6000:], flush=True)
    finally:
        if stack.proc and stack.proc.poll() is None:
            stack.kill()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    figures["median_start_seconds"] = round(statistics.median(starts), 1) if starts else None
    figures["max_journal_records_replayed"] = max(replayed, default=0)
    print(json.dumps(figures, indent=1))
    bad = (
        "unreadable_stores",
        "failed_starts",
        "lost_acked_events",
        "lost_attribute_writes",
        "lost_segments",
        "inconsistent_profiles",
        "unrepaired_profiles",
        "final_mismatched_profiles",
    )
    return 1 if any(figures[name] for name in bad) else 0


if __name__ == "__main__":
    sys.exit(main())
