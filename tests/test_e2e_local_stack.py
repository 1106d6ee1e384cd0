"""End to end: the real local stack (moto server + chalice local server, as `make run` starts it),
driven over HTTP by the README's walk-through, the CLI beside it, and a restart that keeps data."""

import os
import re
import subprocess
import time

import pytest
from running_stack import ROOT, LocalStack


def readme_walkthrough() -> str:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- walkthrough -->\s*```sh\n(.*?)```", text, re.S)
    assert block, "README.md lost its walk-through block"
    return block.group(1)


@pytest.fixture
def stack(tmp_path):
    s = LocalStack(tmp_path / "data").start()
    yield s
    if s.proc.poll() is None:
        s.stop()


def test_readme_walkthrough_runs_verbatim_against_the_local_stack(stack):
    script = readme_walkthrough().replace("curl -s ", "curl -s --fail-with-body ")
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=ROOT,
        env={**os.environ, "API": stack.api, "KEY": stack.key},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert '"error"' not in result.stdout
    status, alice = stack.call("GET", "/projects/demo/profiles/alice")
    assert status == 200 and alice["behaviour"]["orders"] >= 1


def test_a_new_profile_is_scored_within_seconds(stack):
    stack.call(
        "POST",
        "/projects/demo/events",
        {
            "events": [
                {
                    "event_id": "n1",
                    "profile_id": "newbie",
                    "type": "session_start",
                    "timestamp": "2026-11-01T10:00:00Z",
                },
                {
                    "event_id": "n2",
                    "profile_id": "newbie",
                    "type": "purchase",
                    "timestamp": "2026-11-01T10:04:00Z",
                    "value": 25,
                },
            ]
        },
    )
    started = time.time()
    while time.time() - started < 20:
        predictive = stack.call("GET", "/projects/demo/profiles/newbie")[1]["predictive"]
        if predictive:
            break
        time.sleep(0.5)
    assert predictive, "the stream trigger did not score the new profile"
    assert predictive["clv_past"] == 25 and 0 <= predictive["conversion_potential"] <= 100
    print(f"scored {time.time() - started:.1f}s after the events were accepted")
    status, jobs = stack.call("GET", "/projects/demo/jobs")
    assert status == 200


def test_demo_data_cli_and_restart(stack):
    status, page = stack.call("GET", "/projects/demo/profiles?limit=5")
    assert status == 200 and len(page["profiles"]) == 5 and "next_cursor" in page
    status, preview = stack.call(
        "POST",
        "/projects/demo/segments/preview",
        {"match": "all", "rules": [{"field": "behaviour.orders", "operator": "gte", "value": 1}]},
    )
    assert status == 200 and 0 < preview["count"] < 150

    # the CLI works beside the running stack, on the same store
    out = stack.cli("create-project", "--project", "shop2")
    assert out.returncode == 0, out.stderr
    out = stack.cli("create-key", "--project", "shop2")
    shop2_key = re.search(r"API key: (\S+)", out.stdout).group(1)
    assert (
        stack.call("PUT", "/projects/shop2/profiles/bob", {"attributes": {"a": 1}}, key=shop2_key)[
            0
        ]
        == 201
    )
    assert stack.call("GET", "/projects/demo/profiles/bob", key=shop2_key)[0] == 403

    stack.stop()
    log = stack.log.read_text()
    assert "Saving the local store" in log and "Stopped." in log
    # while the stack is down the CLI works on the saved store
    out = stack.cli("list-projects")
    assert "shop2" in out.stdout, out.stderr

    stack.start()  # no reseed; everything is still there, with the same dev key
    assert stack.call("GET", "/projects/shop2/profiles/bob", key=shop2_key)[1]["attributes"] == {
        "a": 1
    }
    status, again = stack.call(
        "POST",
        "/projects/demo/segments/preview",
        {"match": "all", "rules": [{"field": "behaviour.orders", "operator": "gte", "value": 1}]},
    )
    assert again["count"] == preview["count"]
    assert "Seeding" not in stack.log.read_text()
