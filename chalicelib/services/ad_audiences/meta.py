"""Meta Custom Audiences (customer list): members added with `POST /{audience_id}/users` and
removed with `DELETE /{audience_id}/users`, each request at most 10,000 rows of the multi-key
schema ["EMAIL", "PHONE"] hashed by Meta's rules (identifiers.py), in the form field `payload`
the way facebook-business's `CustomAudience.add_users` / `remove_users` send it.

Needs from the user: the audience id of a customer-list Custom Audience they created in Ads
Manager (its customer-list terms accepted), and an access token with `ads_management` for the
ad account that owns it (a system user's token does not expire); optionally the app's secret,
for apps that require `appsecret_proof` on every call (it is then sent in the form, beside the
payload, not in the URL)."""

from __future__ import annotations

import hashlib
import hmac
import json

from ...validation import expect_object
from . import checks
from .transport import Request, SendFailed, expect_ok

TYPE = "meta_custom_audience"
API_VERSION = "v26.0"  # the Graph API version of facebook-business 26.0.3
GRAPH = "https://graph.facebook.com"
SCHEMA = ["EMAIL", "PHONE"]
MAX_ROWS = 10_000  # per request (Meta's limit)
# Meta documents no expiry of a customer list's members (an audience unused in ads for two
# years is deleted as a whole): a refresh once a year by default keeps it in use and current.
DEFAULT_LIFETIME_DAYS = 365
CREDENTIALS = ("access_token",)
OPTIONAL_CREDENTIALS = ("app_secret",)


def check(body: dict) -> tuple[dict, dict]:
    """(settings, credentials) of a new destination; ValidationError naming the field."""
    expect_object(
        body,
        "",
        {"type", "audience_id", "credentials", "membership_lifetime_days"},
        {"audience_id", "credentials"},
    )
    settings = {
        "audience_id": checks.digits(body["audience_id"], "/audience_id"),
        "membership_lifetime_days": checks.lifetime_days(
            body.get("membership_lifetime_days"),
            "/membership_lifetime_days",
            DEFAULT_LIFETIME_DAYS,
            checks.LIFETIME_DAYS_MAX,
        ),
    }
    given = expect_object(
        body["credentials"],
        "/credentials",
        set(CREDENTIALS + OPTIONAL_CREDENTIALS),
        set(CREDENTIALS),
    )
    credentials = {
        name: checks.secret(given[name], f"/credentials/{name}")
        for name in CREDENTIALS + OPTIONAL_CREDENTIALS
        if name in given
    }
    return settings, credentials


def appsecret_proof(credentials: dict) -> str | None:
    """HMAC-SHA256 of the access token under the app secret, hex (what Graph API checks when
    the app requires it, and facebook-business sends whenever it is given the secret)."""
    secret = credentials.get("app_secret")
    if not secret:
        return None
    token = credentials["access_token"].encode()
    return hmac.new(secret.encode(), token, hashlib.sha256).hexdigest()


def payload(rows: list[list[str]]) -> dict:
    return {"schema": SCHEMA, "is_raw": True, "data": rows}


def requests_for(settings: dict, credentials: dict, adds: list, removes: list) -> list[Request]:
    """The requests that add and remove the rows, at most MAX_ROWS each. The token goes in the
    Authorization header (not the URL, where logs would keep it); DELETE carries its payload in
    the body, since 10,000 hashed rows do not fit in a URL."""
    url = f"{GRAPH}/{API_VERSION}/{settings['audience_id']}/users"
    headers = {"Authorization": f"Bearer {credentials['access_token']}"}
    proof = appsecret_proof(credentials)
    extra = {"appsecret_proof": proof} if proof else {}
    out = []
    for method, rows in (("POST", adds), ("DELETE", removes)):
        for start in range(0, len(rows), MAX_ROWS):
            chunk = rows[start : start + MAX_ROWS]
            form = {"payload": json.dumps(payload(chunk)), **extra}
            out.append(Request(method, url, headers, form=form))
    return out


def sync(settings: dict, credentials: dict, adds: list, removes: list, send) -> dict:
    received = invalid = 0
    for request in requests_for(settings, credentials, adds, removes):
        body = expect_ok(send(request), f"Meta {request.method} /users")
        if "num_received" not in body:
            raise SendFailed("Meta's answer lacks num_received")
        received += int(body.get("num_received") or 0)
        invalid += int(body.get("num_invalid_entries") or 0)
    return {"added": len(adds), "removed": len(removes), "received": received, "invalid": invalid}
