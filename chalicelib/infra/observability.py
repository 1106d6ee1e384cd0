"""Structured logs and metrics, for CloudWatch.

- Logs: one JSON object a line, with the request id (API calls) or job id (jobs, work messages)
  and the project of the work at hand, so CloudWatch Logs Insights can follow one request or job.
  On in Lambda (AWS_LAMBDA_FUNCTION_NAME is set) or with LOG_FORMAT=json.
- Metrics: CloudWatch's embedded metric format (a JSON log line CloudWatch turns into metrics):
  no PutMetricData call, no extra latency. Namespace PredictiveSegments. Printed in Lambda, or
  with EMIT_METRICS=1.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
import time
from contextlib import contextmanager

NAMESPACE = "PredictiveSegments"
# Never mutated in place (each context() sets a new dict), so an immutable empty default serves.
_context: contextvars.ContextVar[dict] = contextvars.ContextVar("log_context")


@contextmanager
def context(**fields):
    """Fields (request_id, job_id, project_id, ...) added to every log line inside."""
    token = _context.set({**_context.get({}), **{k: v for k, v in fields.items() if v}})
    try:
        yield
    finally:
        _context.reset(token)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_context.get({}),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure(force: bool = False) -> bool:
    """JSON logs on every handler of the root logger (Lambda's included). Idempotent."""
    if not (
        force
        or os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        or os.environ.get("LOG_FORMAT") == "json"
    ):
        return False
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stdout))
    for handler in root.handlers:
        handler.setFormatter(JsonFormatter())
    root.setLevel(os.environ.get("LOG_LEVEL", "INFO"))
    return True


def emit_metrics(metrics: dict[str, tuple[float, str]], stream=None, **dimensions) -> dict:
    """One embedded-metric-format line: {name: (value, unit)} under the given dimensions."""
    document = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [sorted(dimensions)],
                    "Metrics": [
                        {"Name": name, "Unit": unit} for name, (_, unit) in metrics.items()
                    ],
                }
            ],
        },
        **{k: str(v) for k, v in dimensions.items()},
        **{name: value for name, (value, _) in metrics.items()},
        **_context.get({}),
    }
    # in Lambda a stdout line is a log event, which CloudWatch reads metrics from; elsewhere (the
    # CLI prints its results as JSON on stdout) only when asked
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or os.environ.get("EMIT_METRICS") == "1":
        print(json.dumps(document, default=str), file=stream or sys.stdout, flush=True)
    return document


def job_metrics(kind: str, status: str, summary: dict) -> dict:
    """What a finished job reports: its duration, and its counts."""
    metrics = {
        "JobDuration": (float(summary.get("duration_seconds", 0)), "Seconds"),
        "JobSucceeded": (1.0 if status in ("succeeded", "promoted") else 0.0, "Count"),
    }
    for key, name in (
        ("profiles_read", "ProfilesRead"),
        ("written", "ScoresWritten"),
        ("changed", "ScoresChanged"),
    ):
        if key in summary:
            metrics[name] = (float(summary[key]), "Count")
    return emit_metrics(metrics, kind=kind)
