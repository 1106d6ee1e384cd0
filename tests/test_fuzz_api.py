"""Schemathesis against the real local stack (moto server + chalice's local server, as `make run`
starts it): every operation of chalicelib/api/openapi.json, as the stack serves it, gets
generated requests with the demo project's key, valid ones (positive) and invalid ones
(negative); operations with ids run once with generated ids and once with ids that exist (a
profile, a saved segment, a job), so the code past the 404 is reached too. No request may get a
5xx, and every response must conform to the spec: status code, content type and body schema.

Every call is pinned to the demo project with its key (path parameter and header), so it passes
authentication and reaches the logic: a 401 or 403 fails the run. Before the generated cases,
hand-written hostile ones (test_hostile_bodies_and_queries, cases from tests/fuzz_api_support.py):
each leaf of a valid body of every JSON route, the whole body and an extra key get oversized
numbers (1e309 as a raw integer, 5,000 digits), NaN/Infinity literals, deep nesting, wide objects,
long lists, huge strings, control characters and lone surrogates; every query parameter gets
similar text.

Bounded for CI: FUZZ_EXAMPLES examples per operation, mode and id kind (default 5),
derandomized, so the same cases run every time. `make fuzz` runs a longer one
(FUZZ_EXAMPLES=200) with FUZZ_SEED set, printed for replaying a failure. Both tests print their
requests, statuses and slowest response; the last one the totals of the module.
"""

import base64
import json
import os
import re
import time

import pytest
import requests
import schemathesis
from fuzz_api_support import Tally, hostile_requests
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from running_stack import LocalStack
from schemathesis import GenerationMode, checks
from schemathesis.core.failures import FailureGroup

from chalicelib.api.docs_routes import SPEC_PATH

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
SEED = os.environ.get("FUZZ_SEED")
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
# Known failures whose fix lies outside the API edge, left for their owners:
# "METHOD /path" -> reason. Their cases still run; their failures are printed, not asserted.
KNOWN: dict[str, str] = {}
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
ASSIGNED = {
    "segment_id",
    "job_id",
    "export_id",
}  # ids the server makes up; profile ids are the client's


MODULE = Tally()  # both tests' requests, for the figures printed at the end


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = LocalStack(tmp_path_factory.mktemp("fuzz") / "data", demo_profiles=40).start()
    # the demo key, and a write key of the Segment-compatible source (HTTP Basic user name)
    write_key = re.search(
        r"^write key: (\S+)$", s.cli("create-write-key", "--project", "demo").stdout, re.M
    )[1]
    basic = base64.b64encode(f"{write_key}:".encode()).decode()
    s.headers = {"x-api-key": s.key, "Authorization": f"Basic {basic}"}
    yield s
    if s.proc.poll() is None:
        s.stop()


@pytest.fixture(scope="module")
def schema(stack):
    """The spec as the running stack serves it, aimed at the stack with the demo key.
    (from_dict, not from_url: from_url leaves out the operation that served the document.)"""
    served = requests.get(stack.api + "/openapi.json", timeout=30)
    assert served.status_code == 200 and served.json() == json.loads(SPEC_PATH.read_text())
    loaded = schemathesis.openapi.from_dict(served.json())
    loaded.config.update(base_url=stack.api, headers=stack.headers, request_timeout=60)
    return loaded


@pytest.fixture(scope="module")
def known(stack):
    """Ids that exist: a profile with events, a saved segment, a job, a file of the UI."""
    assert stack.call(
        "PUT",
        "/projects/demo/profiles/fuzz-known",
        {
            "attributes": {
                "country": "NL",
                "age": 41,
                "newsletter": True,
                "interests": ["vinyl"],
                "signup": "2026-01-05",
            }
        },
    )[0] in (200, 201)
    assert (
        stack.call(
            "POST",
            "/projects/demo/events",
            {
                "events": [
                    {
                        "event_id": "k1",
                        "profile_id": "fuzz-known",
                        "type": "session_start",
                        "timestamp": "2026-11-01T10:00:00Z",
                    },
                    {
                        "event_id": "k2",
                        "profile_id": "fuzz-known",
                        "type": "purchase",
                        "timestamp": "2026-11-01T10:05:00Z",
                        "value": 30,
                        "properties": {"discount": True},
                    },
                ]
            },
        )[0]
        == 200
    )
    status, segment = stack.call(
        "POST",
        "/projects/demo/segments",
        {
            "name": "Known",
            "match": "any",
            "rules": [
                {"field": "behaviour.orders", "operator": "gte", "value": 1},
                {
                    "match": "all",
                    "rules": [
                        {"field": "attributes.country", "operator": "in", "value": ["NL", "BE"]}
                    ],
                },
            ],
        },
    )
    assert status == 201, segment
    ids = {"profile_id": "fuzz-known", "segment_id": segment["segment_id"], "asset": "app.js"}
    deadline = time.time() + 30
    while "job_id" not in ids and time.time() < deadline:  # the start-up rescore writes one
        jobs = stack.call("GET", "/projects/demo/jobs")[1]["jobs"]
        if jobs:
            ids["job_id"] = jobs[0]["job_id"]
        else:
            time.sleep(0.5)
    return ids


def fuzz(operation, mode, path_parameters, stack, tally):
    """Up to EXAMPLES generated cases of one operation; failures are collected, not raised, so
    that one run reports every kind. False when the mode has nothing to generate."""
    label = f"{operation.label} {mode.value}{' known ids' if len(path_parameters) > 1 else ''}"

    @settings(
        max_examples=EXAMPLES,
        derandomize=SEED is None,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    def run(case):
        response = case.call(timeout=60)
        tally.record(response, label)
        MODULE.record(response, "fuzz " + label)
        try:
            case.validate_response(response, checks=CHECKS, headers=stack.headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                tally.failures.append(
                    {
                        "operation": operation.label,
                        "mode": mode.value,
                        "ids": "known" if len(path_parameters) > 1 else "generated",
                        "title": failure.title,
                        "message": str(failure.message)[:1500],
                        "request": f"{case.method} {response.request.url}",
                        "body": _short(case.body),
                        "status": response.status_code,
                        "response": response.text[:1500],
                    }
                )

    if SEED is not None:
        run = seed(int(SEED))(run)
    try:
        run()
    except Unsatisfiable:
        # nothing to make invalid (e.g. GET /openapi.json has no parameters): no negative cases
        assert mode == GenerationMode.NEGATIVE, operation.label
        return False
    return True


def test_hostile_bodies_and_queries(stack, known):
    """GIVEN the local stack and a valid request of every JSON route WHEN each leaf, the whole
    body or an extra key is replaced by a hostile value (and each query parameter of the GET
    routes) THEN no answer is a 5xx, every refusal is a 4xx in the error shape, and nothing
    needs authentication it did not get."""
    tally, bad, started = Tally(), [], time.time()
    session = requests.Session()
    session.headers.update({"x-api-key": stack.key, "Content-Type": "application/json"})
    for label, method, path, raw in hostile_requests(known):
        response = session.request(
            method,
            stack.api + path,
            timeout=60,
            data=None if raw is None else raw.encode("utf-8", "surrogatepass"),
        )
        tally.record(response, f"{method} {_operation(label)}")
        MODULE.record(response, "hostile " + label[:120])
        shaped = response.status_code < 400 or _error_shaped(response)
        if response.status_code >= 500 or response.status_code in (401, 403) or not shaped:
            bad.append(
                {
                    "case": label[:200],
                    "status": response.status_code,
                    "response": response.text[:500],
                }
            )
    print(
        f"\nhostile cases: {sum(tally.statuses.values())} requests in "
        f"{time.time() - started:.1f}s; statuses {dict(sorted(tally.statuses.items()))}; "
        f"slowest response {tally.slowest[0] * 1000:.0f} ms: {tally.slowest[1]}"
    )
    for label, statuses in tally.by_run.items():
        print(f"  {label}: {dict(sorted(statuses.items()))}")
    known_bad = [b for b in bad if f"{b['case'].split()[0]} {_operation(b['case'])}" in KNOWN]
    for b in known_bad:
        print("known failure:", json.dumps(b)[:600])
    new = [b for b in bad if b not in known_bad]
    assert not new, json.dumps(new[:30], indent=1)[:20000]


def _operation(label: str) -> str:
    """The path template of a hostile case's label ("METHOD /template... = value")."""
    return label.split(" ", 2)[1].split("?")[0]


def _error_shaped(response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return set(body) == {"error"} and {"code", "message"} <= set(body["error"]) <= {
        "code",
        "message",
        "path",
    }


def test_fuzz_the_local_stack(stack, schema, known):
    started, tally = time.time(), Tally()
    operations = [result.ok() for result in schema.get_all_operations()]
    # deletions last, so that the known ids exist for every other operation
    operations.sort(key=lambda op: op.method.upper() == "DELETE")
    for operation in operations:
        names = set(re.findall(r"{(\w+)}", operation.path)) - {"project_id"}
        runs = [({}, mode) for mode in MODES]
        if names and names <= set(known):  # (no known export id: only large ones are stored)
            ids = {name: known[name] for name in names}
            runs += [(ids, mode) for mode in MODES]
            if names & ASSIGNED and operation.body:
                # a generated id of an id the server assigns is a 404 before the body is read:
                # valid bodies are worth generating (slow for rule trees) with a known id only
                runs.remove(({}, GenerationMode.POSITIVE))
        for ids, mode in runs:
            begun = time.time()
            tally.runs += fuzz(operation, mode, {"project_id": "demo", **ids}, stack, tally)
            tally.timings[operation.label] = tally.timings.get(operation.label, 0) + (
                time.time() - begun
            )
    seconds = time.time() - started
    print(
        f"\nschemathesis: {len(operations)} operations, {tally.runs} runs (operation x mode x "
        f"generated/known ids) of up to {EXAMPLES} examples"
        f"{'' if SEED is None else f', seed {SEED}'}: {sum(tally.statuses.values())} requests "
        f"in {seconds:.1f}s ({tally.http_seconds:.1f}s waiting for responses); statuses "
        f"{dict(sorted(tally.statuses.items()))}; {len(tally.failures)} failures"
    )
    for label, statuses in tally.by_run.items():
        print(f"  {label}: {dict(sorted(statuses.items()))}")
    for label, spent in sorted(tally.timings.items(), key=lambda kv: -kv[1])[:3]:
        print(f"  {spent:5.1f}s {label}")
    print(f"slowest response {tally.slowest[0] * 1000:.0f} ms: {tally.slowest[1]}")
    print(
        f"module totals (hostile + fuzzed): {sum(MODULE.statuses.values())} requests, "
        f"statuses {dict(sorted(MODULE.statuses.items()))}, 5xx "
        f"{sum(n for code, n in MODULE.statuses.items() if code >= 500)}, slowest response "
        f"{MODULE.slowest[0] * 1000:.0f} ms: {MODULE.slowest[1]}"
    )
    # pinned to the demo project and its keys: every call passed authentication (but the Shopify
    # webhook's, which needs a signature of each body: tests/test_shopify_orders.py)
    refused = {
        label: statuses
        for label, statuses in tally.by_run.items()
        if (statuses[401] or statuses[403]) and "/sources/shopify" not in label
    }
    assert not refused, refused
    assert {op.label for op in operations} == {f"{m.upper()} {p}" for m, p in _spec_operations()}

    known_failures = [f for f in tally.failures if f["operation"] in KNOWN]
    for f in known_failures:
        print("known failure:", KNOWN[f["operation"]], json.dumps(f)[:800])
    new = [f for f in tally.failures if f["operation"] not in KNOWN]
    if new:
        report = stack.data_dir.parent / "fuzz-failures.json"
        report.write_text(json.dumps(new, indent=1))
        kinds = {}  # one example of each kind of failure, with how often it happened
        for f in new:
            key = (f["operation"], f["mode"], f["ids"], f["title"], f["status"])
            kinds.setdefault(key, {**f, "times": 0})["times"] += 1
        tracebacks = re.findall(
            r"^\S.*unhandled error.*\n(?:(?:Traceback| |\S+Error).*\n)+",
            stack.log.read_text(),
            re.M,
        )
        pytest.fail(
            f"{len(new)} failures of {len(kinds)} kinds (all in {report}):\n"
            + json.dumps(list(kinds.values()), indent=1)[:20000]
            + "\n\nstack log tracebacks:\n"
            + "\n".join(tracebacks[:5])[-8000:]
        )
    assert tally.statuses[500] == 0
    if known_failures:
        pytest.xfail(
            "known failures outside the API edge: "
            + "; ".join(sorted({KNOWN[f["operation"]] for f in known_failures}))
        )


def _spec_operations():
    spec = json.loads(SPEC_PATH.read_text())
    return [(m, p) for p, item in spec["paths"].items() for m in item if m != "parameters"]


def _short(body):
    if body is None or isinstance(body, (bytes, str)):
        return repr(body)[:600]
    return json.dumps(body, default=repr)[:600]
