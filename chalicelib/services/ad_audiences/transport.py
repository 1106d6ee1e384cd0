"""The one way out to the ad platforms: `send(request)`. Everything else builds requests and reads
responses without a network, and tests replace this function (they never reach a platform).
Only the platforms' own hosts are allowed: a destination's settings cannot point elsewhere."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

ALLOWED_HOSTS = frozenset(
    {"graph.facebook.com", "googleads.googleapis.com", "oauth2.googleapis.com"}
)
TIMEOUT_SECONDS = 30
# Set in tests and, unless the user sets it to 0, in `make run`: nothing is sent, each sync fails
# (and is retried, then dead-lettered) without touching the network, or is recorded to a file
# and answered as the platform would (offline.py).
OFFLINE_VARIABLE = "AD_PLATFORMS_OFFLINE"


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    headers: dict = field(default_factory=dict)
    form: dict | None = None  # sent as application/x-www-form-urlencoded
    json: dict | None = None  # sent as application/json


@dataclass(frozen=True)
class Response:
    status: int
    body: dict


class SendFailed(Exception):
    """The platform did not take the request (or could not be reached): retried later."""


def send(request: Request) -> Response:
    import requests

    if os.environ.get(OFFLINE_VARIABLE) == "1":
        from . import offline

        if os.environ.get(offline.RECORD_VARIABLE):
            return offline.record(request, os.environ[offline.RECORD_VARIABLE])
        raise SendFailed(f"ad platforms are offline here ({OFFLINE_VARIABLE}=1): nothing sent")
    host = urlsplit(request.url).hostname
    if urlsplit(request.url).scheme != "https" or host not in ALLOWED_HOSTS:
        raise SendFailed(f"refused to send to {host!r}: not an ad platform's host")
    try:
        response = requests.request(
            request.method,
            request.url,
            headers=request.headers,
            data=request.form,
            json=request.json,
            timeout=TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise SendFailed(f"{host}: {type(exc).__name__}") from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    return Response(response.status_code, body if isinstance(body, dict) else {})


def expect_ok(response: Response, what: str) -> dict:
    """The response's body, or SendFailed naming the platform's error (never the credentials)."""
    if 200 <= response.status < 300:
        return response.body
    error = response.body.get("error")
    detail = error.get("message") if isinstance(error, dict) else error
    raise SendFailed(f"{what} answered {response.status}: {json.dumps(detail)[:300]}")
