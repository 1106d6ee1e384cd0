"""What tests/test_fuzz_api.py uses besides schemathesis: a tally of the responses (statuses,
time waited, the slowest), and the hand-written hostile cases: a valid body of every JSON route
with each leaf, the whole body and an extra key replaced by a hostile raw JSON value (oversized
numbers, NaN/Infinity, deep nesting, wide objects, long lists, huge strings, control characters,
lone surrogates), and hostile text in every query parameter of the GET routes."""

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import quote

from chalicelib.api.docs_routes import SPEC_PATH


@dataclass
class Tally:
    statuses: Counter = field(default_factory=Counter)
    failures: list = field(default_factory=list)
    http_seconds: float = 0.0
    runs: int = 0
    timings: dict = field(default_factory=dict)
    by_run: dict = field(default_factory=dict)  # run label -> Counter of statuses
    slowest: tuple = (0.0, "")  # (seconds until the response's headers, request)

    def record(self, response, label: str) -> None:
        elapsed = response.elapsed  # seconds (schemathesis) or a timedelta (requests)
        elapsed = elapsed if isinstance(elapsed, float) else elapsed.total_seconds()
        self.http_seconds += elapsed
        self.statuses[response.status_code] += 1
        self.by_run.setdefault(label, Counter())[response.status_code] += 1
        if elapsed > self.slowest[0]:
            self.slowest = (
                elapsed,
                f"{response.request.method} {response.request.url[:150]} ({label})",
            )


# Raw JSON text put in place of each leaf of a valid body, of the whole body, and under a new key.
# Each has to be answered below 500, in the error shape when refused.
HOSTILE_JSON = {
    "integer 1e309": "1" + "0" * 309,
    "integer -1e400": "-1" + "0" * 400,
    "integer of 5,000 digits": "9" * 5000,
    "1e309": "1e309",
    "-1e309": "-1e309",
    "1e-400": "1e-400",
    "2**63": str(2**63),
    "-0.0": "-0.0",
    "NaN": "NaN",
    "Infinity": "Infinity",
    "-Infinity": "-Infinity",
    "5,000 nested arrays": "[" * 5000 + "]" * 5000,
    "40 nested objects": '{"a":' * 40 + "1" + "}" * 40,
    "wide object": "{" + ",".join(f'"k{i}":{i}' for i in range(20000)) + "}",
    "long list": "[" + ",".join(['"x"'] * 20000) + "]",
    "huge string": '"' + "x" * 300_000 + '"',
    "control characters": '"a\\u0000b\\u001fc\\u007f"',
    "raw control bytes": '"a\x00b\x01c"',
    "lone surrogate": '"\\ud800"',
    "empty string": '""',
    "null": "null",
    "true": "true",
    "empty object": "{}",
    "empty list": "[]",
    "unclosed IPv6 URL": '"https://[::1"',
    "URL port 99999": '"http://127.0.0.1:99999/x"',
    "URL to NAT64 metadata": '"https://[64:ff9b::a9fe:a9fe]/"',
}
HOSTILE_QUERY = [
    "1" + "0" * 309,
    "1e309",
    "NaN",
    "-Infinity",
    "-1",
    "0",
    "1.5",
    "x" * 5000,
    "\x00",
    "\x01\x1f",
    "\ud800",
    "0999-12-31T00:00:00Z",
    "%",
    "[]",
    "",
]
# A valid body of each JSON operation ({project_id} is demo; ids from the `known` fixture).
VALID_BODIES = {
    "PUT /projects/{project_id}/profiles/{profile_id}": {
        "attributes": {
            "country": "NL",
            "age": 41,
            "newsletter": True,
            "interests": ["vinyl"],
            "gone": None,
        }
    },
    "POST /projects/{project_id}/profiles": {
        "profiles": [{"profile_id": "hostile-1", "attributes": {"age": 30, "tags": ["a"]}}]
    },
    "POST /projects/{project_id}/events": {
        "events": [
            {
                "event_id": "h-1",
                "profile_id": "hostile-1",
                "type": "purchase",
                "timestamp": "2026-11-01T10:00:00Z",
                "value": 30,
                "properties": {"discount": True, "nested": {"x": [1, 2.5]}},
            }
        ]
    },
    "POST /projects/{project_id}/segments/preview": {
        "match": "all",
        "rules": [{"field": "behaviour.revenue", "operator": "gte", "value": 50}],
    },
    "POST /projects/{project_id}/segments": {
        "name": "Hostile",
        "description": "d",
        "match": "any",
        "rules": [
            {"field": "behaviour.orders", "operator": "between", "value": [1, 5]},
            {
                "match": "all",
                "rules": [{"field": "attributes.country", "operator": "in", "value": ["NL", "BE"]}],
            },
        ],
    },
    "PUT /projects/{project_id}/segments/{segment_id}": {
        "name": "Known",
        "match": "any",
        "rules": [
            {"field": "behaviour.orders", "operator": "gte", "value": 1},
            {
                "match": "all",
                "rules": [{"field": "attributes.country", "operator": "in", "value": ["NL", "BE"]}],
            },
        ],
    },
    "POST /projects/{project_id}/segments/{segment_id}/destinations": {
        "url": "http://127.0.0.1:9/hook"
    },
}
MARK = "__hostile__"


def leaf_pointers(value, pointer=""):
    """The JSON pointers of every leaf (and every empty container) of a document."""
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    items = list(items)
    if not items:
        yield pointer
    for key, item in items:
        yield from leaf_pointers(item, f"{pointer}/{key}")


def with_mark(document, pointer):
    """The document as JSON text with MARK in place of the value at the pointer ("" = all)."""
    if not pointer:
        return json.dumps(MARK)
    copy = json.loads(json.dumps(document))
    *parents, last = pointer.split("/")[1:]
    target = copy
    for key in parents:
        target = target[int(key) if isinstance(target, list) else key]
    target[int(last) if isinstance(target, list) else last] = MARK
    return json.dumps(copy)


def hostile_requests(known):
    """(label, method, path, raw body or None) of every hand-written hostile case."""
    spec = json.loads(SPEC_PATH.read_text())
    ids = {"project_id": "demo", **known}
    for label, document in VALID_BODIES.items():
        method, template = label.split(" ", 1)
        path = template.format(**ids)
        places = ["", *leaf_pointers(document)]
        for name, raw in HOSTILE_JSON.items():
            for pointer in places:
                yield (
                    f"{label} {pointer or '(body)'} = {name}",
                    method,
                    path,
                    with_mark(document, pointer).replace(json.dumps(MARK), raw),
                )
            extra = json.dumps({**document, "extra": MARK}).replace(json.dumps(MARK), raw)
            yield f"{label} /extra = {name}", method, path, extra
    for template, item in spec["paths"].items():
        operation = item.get("get") or {}
        names = [
            p.get("name") or p["$ref"].rsplit("/", 1)[-1].lower()
            for p in operation.get("parameters", [])
            if p.get("in") == "query" or "Cursor" in p.get("$ref", "")
        ]
        if not names or not set(re.findall(r"{(\w+)}", template)) <= set(ids):
            continue
        path = template.format(**ids)
        for name in names:
            for value in HOSTILE_QUERY:
                yield (
                    f"GET {template}?{name}={value[:20]!r}",
                    "GET",
                    f"{path}?{name}={quote(value, safe='', errors='surrogatepass')}",
                    None,
                )
