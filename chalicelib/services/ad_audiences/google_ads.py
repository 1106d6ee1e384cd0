"""Google Ads Customer Match: each sync is one offline user data job on the user list: create
the job (type CUSTOMER_MATCH_USER_LIST, with the list and the consent the user declared), add
its operations (`create` for entries, `remove` for exits; one UserData per member holding its
hashed email and phone), in requests of at most 10,000 identifiers (Google's recommended size;
its cap is 100,000 a request and 20 a UserData), then run it. REST (googleads.googleapis.com),
JSON field names as the protobuf JSON mapping gives them (what google-ads' types serialise to).

Needs from the user: the customer id of the Google Ads account that owns the list (and the
manager account's id as login_customer_id when access goes through one), the id of a Customer
Match user list created in that account, the consent their users gave (ad_user_data,
ad_personalization: GRANTED or DENIED; Google asks for both for EEA users), a developer token,
and an OAuth client (client id, client secret) with a refresh token of a user who can manage
the account (scope https://www.googleapis.com/auth/adwords)."""

from __future__ import annotations

import re

from ...infra.errors import ValidationError
from ...validation import expect_object
from . import checks
from .transport import Request, SendFailed, expect_ok

TYPE = "google_customer_match"
API_VERSION = "v26"  # the newest version of google-ads 34.0.0
ADS = "https://googleads.googleapis.com"
TOKEN_URL = "https://oauth2.googleapis.com/token"
IDENTIFIERS_PER_REQUEST = 10_000
# Customer Match members stay on a list for at most 540 days after their last upload.
DEFAULT_LIFETIME_DAYS = 540
CONSENT_VALUES = ("GRANTED", "DENIED")
CREDENTIALS = ("developer_token", "client_id", "client_secret", "refresh_token")


def _customer_id(value, path: str) -> str:
    """Ten digits, as Google Ads shows them (123-456-7890) or without the dashes."""
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{3}-?[0-9]{3}-?[0-9]{4}", value):
        raise ValidationError(f"{path[1:]} must be 10 digits, e.g. 123-456-7890", path)
    return value.replace("-", "")


def check(body: dict) -> tuple[dict, dict]:
    """(settings, credentials) of a new destination; ValidationError naming the field."""
    expect_object(
        body,
        "",
        {
            "type",
            "customer_id",
            "login_customer_id",
            "user_list_id",
            "consent",
            "credentials",
            "membership_lifetime_days",
        },
        {"customer_id", "user_list_id", "consent", "credentials"},
    )
    consent = expect_object(
        body["consent"],
        "/consent",
        {"ad_user_data", "ad_personalization"},
        {"ad_user_data", "ad_personalization"},
    )
    for name in ("ad_user_data", "ad_personalization"):
        if consent[name] not in CONSENT_VALUES:
            raise ValidationError(f"{name} must be GRANTED or DENIED", f"/consent/{name}")
    settings = {
        "customer_id": _customer_id(body["customer_id"], "/customer_id"),
        "user_list_id": checks.digits(body["user_list_id"], "/user_list_id"),
        "consent": {k: consent[k] for k in ("ad_user_data", "ad_personalization")},
        "membership_lifetime_days": checks.lifetime_days(
            body.get("membership_lifetime_days"),
            "/membership_lifetime_days",
            DEFAULT_LIFETIME_DAYS,
            DEFAULT_LIFETIME_DAYS,
        ),
    }
    if body.get("login_customer_id") is not None:
        settings["login_customer_id"] = _customer_id(
            body["login_customer_id"], "/login_customer_id"
        )
    given = expect_object(body["credentials"], "/credentials", set(CREDENTIALS), set(CREDENTIALS))
    credentials = {k: checks.secret(given[k], f"/credentials/{k}") for k in CREDENTIALS}
    return settings, credentials


def token_request(credentials: dict) -> Request:
    return Request(
        "POST",
        TOKEN_URL,
        form={
            "grant_type": "refresh_token",
            "refresh_token": credentials["refresh_token"],
            "client_id": credentials["client_id"],
            "client_secret": credentials["client_secret"],
        },
    )


def job(settings: dict) -> dict:
    """The CreateOfflineUserDataJobRequest body."""
    consent = settings["consent"]
    return {
        "job": {
            "type": "CUSTOMER_MATCH_USER_LIST",
            "customerMatchUserListMetadata": {
                "userList": f"customers/{settings['customer_id']}/userLists/"
                f"{settings['user_list_id']}",
                "consent": {
                    "adUserData": consent["ad_user_data"],
                    "adPersonalization": consent["ad_personalization"],
                },
            },
        }
    }


def operations(adds: list[dict], removes: list[dict]) -> list[dict]:
    """One operation per member: its identifiers ({"hashedEmail"|"hashedPhoneNumber": hex})."""
    return [
        {verb: {"userIdentifiers": [{name: value} for name, value in keys.items()]}}
        for verb, rows in (("create", adds), ("remove", removes))
        for keys in rows
    ]


def batches(ops: list[dict], limit: int = IDENTIFIERS_PER_REQUEST) -> list[list[dict]]:
    """The operations in requests of at most `limit` identifiers each."""
    out, current, count = [], [], 0
    for op in ops:
        n = len(next(iter(op.values()))["userIdentifiers"])
        if current and count + n > limit:
            out.append(current)
            current, count = [], 0
        current.append(op)
        count += n
    if current:
        out.append(current)
    return out


def _headers(settings: dict, credentials: dict, access_token: str) -> dict:
    headers = {
        "Authorization": f"Bearer {access_token}",
        "developer-token": credentials["developer_token"],
    }
    if settings.get("login_customer_id"):
        headers["login-customer-id"] = settings["login_customer_id"]
    return headers


def requests_for(
    settings: dict, credentials: dict, access_token: str, job_name: str, adds, removes
) -> list[Request]:
    """The addOperations requests and the run request of a created job."""
    headers = _headers(settings, credentials, access_token)
    out = [
        Request(
            "POST",
            f"{ADS}/{API_VERSION}/{job_name}:addOperations",
            headers,
            json={"operations": batch, "enablePartialFailure": True},
        )
        for batch in batches(operations(adds, removes))
    ]
    out.append(Request("POST", f"{ADS}/{API_VERSION}/{job_name}:run", headers, json={}))
    return out


def sync(settings: dict, credentials: dict, adds: list, removes: list, send) -> dict:
    if not adds and not removes:
        return {"added": 0, "removed": 0}
    token = expect_ok(send(token_request(credentials)), "Google OAuth").get("access_token")
    if not token:
        raise SendFailed("Google OAuth gave no access token")
    created = expect_ok(
        send(
            Request(
                "POST",
                f"{ADS}/{API_VERSION}/customers/{settings['customer_id']}/offlineUserDataJobs:create",
                _headers(settings, credentials, token),
                json=job(settings),
            )
        ),
        "Google Ads offlineUserDataJobs:create",
    )
    job_name = created.get("resourceName")
    if not job_name:
        raise SendFailed("Google Ads created no job")
    warnings = 0
    for request in requests_for(settings, credentials, token, job_name, adds, removes):
        body = expect_ok(send(request), "Google Ads " + request.url.rsplit(":", 1)[-1])
        warnings += 1 if body.get("partialFailureError") else 0
    return {
        "added": len(adds),
        "removed": len(removes),
        "job": job_name,
        "partial_failures": warnings,
    }
