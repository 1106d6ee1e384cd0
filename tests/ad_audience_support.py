"""What the ad-audience tests share (tests/test_ad_audiences_*.py, tests/test_ad_identity.py): a
segment and a Meta and a Google destination as clients send them, shop customers with emails and
phones, a recorder that stands in for `transport.send` (no network) and answers like the
platforms, a KMS key for sealing credentials, and helpers that add members through the API."""

import json

import boto3
import pytest

from chalicelib.services import scoring_jobs
from chalicelib.services.ad_audiences import google_ads, transport
from chalicelib.storage import credentials

SEGMENT = {
    "name": "big spenders",
    "match": "all",
    "rules": [{"field": "behaviour.revenue", "operator": "gte", "value": 50}],
}
META = {
    "type": "meta_custom_audience",
    "audience_id": "23851234567890123",
    "credentials": {"access_token": "EAAB-meta-token-0123456789"},
}
GOOGLE = {
    "type": "google_customer_match",
    "customer_id": "123-456-7890",
    "user_list_id": "987654321",
    "consent": {"ad_user_data": "GRANTED", "ad_personalization": "DENIED"},
    "credentials": {
        "developer_token": "dev-token-0123456789",
        "client_id": "1234.apps.googleusercontent.com",
        "client_secret": "GOCSPX-client-secret",
        "refresh_token": "1//refresh-token-0123",
    },
}
PEOPLE = {  # profile id: (email, phone) as a shop would store them
    "a": ("  Ann.Smith@Gmail.com ", "+1 (616) 954-1234"),
    "b": ("bob@example.org", None),
    "c": (None, "+31 6 1234 5678"),
    "d": (None, "06 12345678"),  # no country code: not matchable, not sent
}


class Platform:
    """Stands in for `transport.send`: records each request, answers like the platform (or with
    the statuses given first)."""

    def __init__(self, statuses=()):
        self.requests, self.statuses = [], list(statuses)

    def __call__(self, request):
        self.requests.append(request)
        status = self.statuses.pop(0) if self.statuses else 200
        if status != 200:
            return transport.Response(status, {"error": {"message": "try later"}})
        if "graph.facebook.com" in request.url:
            rows = json.loads(request.form["payload"])["data"]
            return transport.Response(200, {"num_received": len(rows), "num_invalid_entries": 0})
        if request.url == google_ads.TOKEN_URL:
            return transport.Response(200, {"access_token": "ya29.access"})
        if request.url.endswith(":create"):
            return transport.Response(
                200, {"resourceName": "customers/1234567890/offlineUserDataJobs/77"}
            )
        return transport.Response(200, {})

    def meta_rows(self, method):
        return [
            row
            for r in self.requests
            if r.method == method
            for row in json.loads(r.form["payload"])["data"]
        ]


@pytest.fixture
def platform(monkeypatch):
    fake = Platform()
    monkeypatch.setattr(transport, "send", fake)
    return fake


@pytest.fixture
def kms_key(aws, monkeypatch):
    key_id = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
    monkeypatch.setenv(credentials.KMS_KEY_VARIABLE, key_id)
    monkeypatch.delenv(credentials.KEY_FILE_VARIABLE, raising=False)
    return key_id


def add_people(api, ids, revenue=60):
    for pid in ids:
        email, phone = PEOPLE[pid]
        attributes = {k: v for k, v in (("email", email), ("phone", phone)) if v}
        if attributes:
            api.put(f"/profiles/{pid}", {"attributes": attributes})
    api.post(
        "/events",
        {
            "events": [
                {
                    "event_id": f"{pid}-1",
                    "profile_id": pid,
                    "type": "purchase",
                    "timestamp": "2026-11-01T10:00:00Z",
                    "value": revenue,
                }
                for pid in ids
            ]
        },
    )
    scoring_jobs.score_profiles("acme", list(ids))  # what the profiles-stream trigger runs


def document(pid):
    email, phone = PEOPLE[pid]
    return {"profile_id": pid, "attributes": {"email": email, "phone": phone}}
