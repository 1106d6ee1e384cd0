"""Structured logs carry the request or job id; jobs and segment evaluations report CloudWatch
metrics in the embedded metric format."""

import io
import json
import logging
from datetime import date

from chalicelib.infra import observability
from chalicelib.services import scoring_jobs


def test_log_lines_are_json_with_the_context(capsys):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(observability.JsonFormatter())
    log = logging.getLogger("test.observability")
    log.addHandler(handler)
    try:
        with observability.context(request_id="r-1", project_id="acme"):
            log.warning("hello %s", "there")
        log.warning("outside")
    finally:
        log.removeHandler(handler)
    inside, outside = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert (inside["message"], inside["request_id"], inside["project_id"], inside["level"]) == (
        "hello there",
        "r-1",
        "acme",
        "WARNING",
    )
    assert "request_id" not in outside


def test_every_api_answer_names_its_request(api):
    status, body = api.get("/profiles/nobody")
    assert status == 404
    response = api.client.http.get(
        api.p("/profiles/nobody"), headers={"x-api-key": api.project["key"]}
    )
    assert len(response.headers["X-Request-Id"]) >= 8


def test_a_rescore_reports_its_duration_and_counts_as_metrics(api, project, capsys, monkeypatch):
    monkeypatch.setenv("EMIT_METRICS", "1")  # as in Lambda
    api.post(
        "/events",
        {
            "events": [
                {
                    "event_id": "e1",
                    "profile_id": "u1",
                    "type": "purchase",
                    "timestamp": "2026-11-01T10:00:00Z",
                    "value": 10,
                }
            ]
        },
    )
    capsys.readouterr()
    result = scoring_jobs.rescore_project(project["id"], date(2026, 11, 20))
    lines = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith('{"_aws"')
    ]
    job = next(line for line in lines if "JobDuration" in line)
    definition = job["_aws"]["CloudWatchMetrics"][0]
    assert definition["Namespace"] == "PredictiveSegments"
    assert definition["Dimensions"] == [["kind"]] and job["kind"] == "rescore"
    assert {m["Name"] for m in definition["Metrics"]} >= {
        "JobDuration",
        "ProfilesRead",
        "ScoresWritten",
        "JobSucceeded",
    }
    assert job["ProfilesRead"] == 1 and job["JobSucceeded"] == 1.0
    assert job["job_id"] == result["job_id"]  # the job's context is on its metrics too


def test_metrics_stay_off_stdout_outside_lambda(capsys, monkeypatch):
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    monkeypatch.delenv("EMIT_METRICS", raising=False)
    observability.emit_metrics({"X": (1.0, "Count")}, kind="k")
    assert capsys.readouterr().out == ""  # the CLI prints its own JSON there
