"""The offline platforms of local runs: with AD_PLATFORMS_OFFLINE=1 and AD_PLATFORMS_RECORD_FILE
set (`make run` may set both), `transport.send` sends nothing and instead appends each request to
that file (one JSON object a line: method, url, form, json; headers without their credentials)
and answers as the platform would, so that a local run shows exactly what would be uploaded.
Without the file, an offline send fails (retried, then dead-lettered)."""

from __future__ import annotations

import json
import re
import threading

from .transport import Request, Response

RECORD_VARIABLE = "AD_PLATFORMS_RECORD_FILE"
SECRET_HEADERS = {"authorization", "developer-token"}
_lock = threading.Lock()  # the local stack's runners send from several threads


def record(request: Request, path: str) -> Response:
    line = {
        "method": request.method,
        "url": request.url,
        "headers": {
            k: ("<redacted>" if k.lower() in SECRET_HEADERS else v)
            for k, v in request.headers.items()
        },
        "form": _without_secrets(request.form),
        "json": request.json,
    }
    with _lock, open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(line, sort_keys=True) + "\n")
    return Response(200, _answer(request))


def _without_secrets(form: dict | None) -> dict | None:
    """An OAuth token request's form holds the client secret and refresh token."""
    if form is None:
        return None
    hidden = {"client_secret", "refresh_token"}
    return {k: ("<redacted>" if k in hidden else v) for k, v in form.items()}


def _answer(request: Request) -> dict:
    """What the platform answers a request that it takes."""
    if "graph.facebook.com" in request.url:
        rows = json.loads((request.form or {}).get("payload", "{}")).get("data", [])
        return {"num_received": len(rows), "num_invalid_entries": 0}
    if request.url.startswith("https://oauth2.googleapis.com/"):
        return {"access_token": "offline", "expires_in": 3599}
    job = re.search(r"(customers/[0-9]+)/offlineUserDataJobs:create$", request.url)
    if job:
        return {"resourceName": f"{job.group(1)}/offlineUserDataJobs/1"}
    return {}
