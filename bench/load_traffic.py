"""The client side of bench/load_test.py: the requests its threads send (event batches shaped like
a site tracker's, with redeliveries and resends; segment previews, counts and member pages), the
ledger of every event sent and how it was answered, and the latency and status figures per request
type. Imported by plain name: bench/ is the script's folder, first on sys.path."""

from __future__ import annotations

import argparse
import collections
import math
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import requests

PROJECT = "/projects/demo"

# event type -> (weight, behaviour counter it increments); purchase also adds to `revenue`
EVENT_TYPES = {
    "page_view": (35, "page_views"),
    "product_view": (25, "product_views"),
    "session_start": (14, "sessions"),
    "add_to_cart": (9, "add_to_cart"),
    "search": (5, "searches"),
    "checkout": (3, "checkouts"),
    "purchase": (6, "orders"),
    "remove_from_cart": (2, None),
    "custom": (1, None),
}

PREVIEWS = {
    "conversion_potential >= 50": {
        "match": "all",
        "rules": [{"field": "predictive.conversion_potential", "operator": "gte", "value": 50}],
    },
    "customer_type = Economical": {
        "match": "all",
        "rules": [{"field": "predictive.customer_type", "operator": "eq", "value": "Economical"}],
    },
    "orders >= 1": {
        "match": "all",
        "rules": [{"field": "behaviour.orders", "operator": "gte", "value": 1}],
    },
    "high potential (nested)": {
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
    },
}


# -- the ledger of every event sent ---------------------------------------------------------------
@dataclass
class Sent:
    event: dict
    confirmed: bool = False  # a 2xx answer counted it as accepted or duplicate
    uncertain: bool = False  # some send got no clear answer (an error for its index, a non-2xx)
    sends: int = 0


class Ledger:
    def __init__(self):
        self.lock = threading.Lock()
        self.events: dict[tuple[str, str], Sent] = {}
        self.recent: dict[str, collections.deque] = collections.defaultdict(
            lambda: collections.deque(maxlen=50)
        )  # profile id -> events sent lately
        self.batches: collections.deque = collections.deque(maxlen=200)
        self.accepted_total = self.duplicates_total = self.rejected_total = 0
        self.events_sent = 0
        self.reject_codes: collections.Counter = collections.Counter()
        self.mismatched_answers: list[str] = []

    def add(self, event: dict) -> None:
        with self.lock:
            self.events[(event["profile_id"], event["event_id"])] = Sent(event)

    def pick_redeliveries(self, rng: random.Random, profile_id: str, n: int) -> list[dict]:
        with self.lock:
            recent = self.recent[profile_id]
            return [rng.choice(recent) for _ in range(n)] if recent else []

    def pick_batch(self, rng: random.Random) -> list[dict] | None:
        with self.lock:
            return rng.choice(self.batches) if self.batches else None

    def record(self, batch: list[dict], status: int | None, body: dict | None) -> None:
        with self.lock:
            self.events_sent += len(batch)
            errors = {}
            if status is not None and 200 <= status < 300 and isinstance(body, dict):
                errors = {e.get("index"): e.get("code", "?") for e in body.get("errors", [])}
                self.accepted_total += body.get("accepted", 0)
                self.duplicates_total += body.get("duplicates", 0)
                self.rejected_total += body.get("rejected", 0)
                if body.get("accepted", 0) + body.get("duplicates", 0) + body.get(
                    "rejected", 0
                ) != len(batch) or body.get("rejected", 0) != len(errors):
                    self.mismatched_answers.append(f"{len(batch)} events -> {body}")
                ok = True
            else:
                ok = False
            for i, event in enumerate(batch):
                sent = self.events[(event["profile_id"], event["event_id"])]
                sent.sends += 1
                if ok and i not in errors:
                    sent.confirmed = True
                else:
                    sent.uncertain = True
                    if ok:
                        self.reject_codes[errors[i]] += 1
                self.recent[event["profile_id"]].append(event)
            self.batches.append(batch)


# -- request statistics ---------------------------------------------------------------------------
@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    statuses: collections.Counter = field(default_factory=collections.Counter)
    exceptions: collections.Counter = field(default_factory=collections.Counter)


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.by_kind: dict[str, Stats] = collections.defaultdict(Stats)
        self.failures: list[str] = []  # examples of 5xx answers and exceptions

    def add(
        self, kind: str, seconds: float, status: int | None, error: str | None, detail: str
    ) -> None:
        with self.lock:
            stats = self.by_kind[kind]
            stats.latencies.append(seconds)
            if status is None:
                stats.exceptions[error] += 1
            else:
                stats.statuses[status] += 1
            if (status is None or status >= 500) and len(self.failures) < 10:
                when = datetime.now(timezone.utc).strftime("%H:%M:%S")
                self.failures.append(f"{when} {kind} {status or error}: {detail}")


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[max(0, math.ceil(p / 100 * len(sorted_values)) - 1)]


# -- the load -------------------------------------------------------------------------------------
class Client:
    def __init__(
        self,
        n: int,
        api: str,
        key: str,
        profiles: list[str],
        segments: list[str],
        ledger: Ledger,
        recorder: Recorder,
        args: argparse.Namespace,
    ):
        self.n, self.api, self.profiles, self.segments = n, api, profiles, segments
        self.ledger, self.recorder, self.timeout = ledger, recorder, args.timeout
        self.visitors, self.per_visitor = span(args.visitors), span(args.events_per_visitor)
        self.redeliver, self.resend, seed = args.redeliver, args.resend, args.seed
        mix = parse_mix(args.mix)
        self.rng = random.Random(seed * 1000 + n)
        self.kinds, self.weights = list(mix), list(mix.values())
        self.session = requests.Session()
        self.session.headers.update({"x-api-key": key})
        self.seq = 0
        self.now = datetime.now(timezone.utc)

    def new_event(self, profile_id: str) -> dict:
        self.seq += 1
        types = list(EVENT_TYPES)
        kind = self.rng.choices(types, [EVENT_TYPES[t][0] for t in types])[0]
        when = self.now - timedelta(seconds=self.rng.randint(0, 3 * 86400))
        event = {
            "event_id": f"lt-{self.n}-{self.seq}",
            "profile_id": profile_id,
            "type": kind,
            "timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if kind == "purchase":
            event["value"] = self.rng.randint(500, 25000) / 100
        if kind == "product_view" and self.rng.random() < 0.2:
            event["properties"] = {"product_id": f"p-{self.rng.randint(1, 300)}", "discount": True}
        self.ledger.add(event)
        return event

    def call(self, kind: str, method: str, path: str, body=None):
        started = time.perf_counter()
        try:
            r = self.session.request(method, self.api + path, json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            self.recorder.add(
                kind,
                time.perf_counter() - started,
                None,
                type(exc).__name__,
                f"{method} {path}: {exc}",
            )
            return None, None
        elapsed = time.perf_counter() - started
        try:
            answer = r.json()
        except ValueError:
            answer = None
        self.recorder.add(
            kind, elapsed, r.status_code, None, f"{method} {path} -> {r.text[:300]!r}"
        )
        return r.status_code, answer

    def events(self) -> None:
        """A batch as a site's tracker sends it: a few visitors' recent events (each profile of a
        batch is one transaction), some events of those visitors sent again, now and then the same
        event twice in the batch, and now and then an earlier batch resent whole (a client retry)."""
        resend = self.ledger.pick_batch(self.rng) if self.rng.random() < self.resend else None
        if resend:
            batch = list(resend)
        else:
            batch = []
            for pid in self.rng.sample(self.profiles, self.rng.randint(*self.visitors)):
                batch += [self.new_event(pid) for _ in range(self.rng.randint(*self.per_visitor))]
                if self.rng.random() < self.redeliver:
                    batch += self.ledger.pick_redeliveries(self.rng, pid, self.rng.randint(1, 2))
            if self.rng.random() < 0.05:
                batch.append(self.rng.choice(batch))
            self.rng.shuffle(batch)
        status, answer = self.call("events", "POST", f"{PROJECT}/events", {"events": batch})
        self.ledger.record(batch, status, answer)

    def preview(self) -> None:
        self.call(
            "preview",
            "POST",
            f"{PROJECT}/segments/preview",
            self.rng.choice(list(PREVIEWS.values())),
        )

    def count(self) -> None:
        self.call("count", "GET", f"{PROJECT}/segments/{self.rng.choice(self.segments)}/count")

    def members(self) -> None:
        self.call(
            "members",
            "GET",
            f"{PROJECT}/segments/{self.rng.choice(self.segments)}/members?limit=50",
        )

    def run(self, deadline: float) -> None:
        while time.perf_counter() < deadline:
            getattr(self, self.rng.choices(self.kinds, self.weights)[0])()


# -- the command line's request options -----------------------------------------------------------
def span(text: str) -> tuple[int, int]:
    low, _, high = text.partition("-")
    return int(low), int(high or low)


def parse_mix(text: str) -> dict[str, float]:
    mix = {}
    for part in text.split(","):
        name, _, weight = part.partition("=")
        if name.strip() not in ("events", "preview", "count", "members"):
            raise SystemExit(f"--mix: unknown request type {name!r}")
        mix[name.strip()] = float(weight)
    return mix
