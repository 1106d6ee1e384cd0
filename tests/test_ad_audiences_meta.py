"""Meta Custom Audiences as a destination: the hashed rows, the add and remove requests and the
appsecret proof are what the platform's own client library (facebook-business, a dev dependency)
builds offline for the same members; at most 10,000 rows a request; Meta's normalisation of
emails and phones. No network (tests/ad_audience_support.py)."""

import json

import ad_audience_support as support
import pytest
from ad_audience_support import META, SEGMENT

from chalicelib.services.ad_audiences import identifiers, meta

# the ad-audience fixtures, shared: a KMS key that seals credentials
kms_key = support.kms_key


# --- Meta: the payload and requests facebook-business would send ------------------------------


class Recorder:
    """facebook-business's HTTP session replaced: records what the library would send."""

    def __init__(self):
        self.calls = []

    def request(self, method, url, params=None, data=None, **kwargs):
        self.calls.append({"method": method, "url": url, "params": params, "data": data})

        class Answer:
            text, headers, status_code = '{"num_received": 1}', {}, 200

        return Answer()


@pytest.fixture
def facebook():
    from facebook_business.api import FacebookAdsApi

    api = FacebookAdsApi.init(access_token="tok", api_version=meta.API_VERSION)
    recorder = Recorder()
    api._session.requests = recorder
    return recorder


def test_meta_rows_hash_like_facebook_business():
    # GIVEN members with emails and phones written as people write them
    from facebook_business.adobjects.customaudience import CustomAudience

    raw = [["Bob@Example.org ", "+1 (616) 954-1234"], ["  ann.smith@gmail.com", "+31 6 1234 5678"]]
    docs = [{"attributes": {"email": e, "phone": p}} for e, p in raw]
    # WHEN our rows are built, and the library formats the same raw values
    ours = meta.payload([identifiers.meta_keys(d) for d in docs])
    theirs = CustomAudience.format_params(meta.SCHEMA, raw, is_raw=True)["payload"]
    # THEN they are the same payload: schema, flags and hashes
    assert ours == theirs


def test_meta_requests_match_add_users_and_remove_users(facebook):
    from facebook_business.adobjects.customaudience import CustomAudience

    raw = [["bob@example.org", "+16169541234"]]
    rows = [identifiers.meta_keys({"attributes": {"email": e, "phone": p}}) for e, p in raw]
    settings, secrets = meta.check(META)
    # WHEN we build an add and a remove, and the library makes the same two calls
    ours = meta.requests_for(settings, secrets, rows, rows)
    audience = CustomAudience(META["audience_id"])
    audience.add_users(meta.SCHEMA, raw, is_raw=True)
    audience.remove_users(meta.SCHEMA, raw, is_raw=True)
    added, removed = facebook.calls
    # THEN same methods, URLs and payloads; the token in a header rather than the URL, and
    # DELETE's payload in the body (the library puts it in the query string, which 10,000
    # hashed rows would overflow)
    assert [r.method for r in ours] == [added["method"], removed["method"]] == ["POST", "DELETE"]
    assert ours[0].url == added["url"] == removed["url"]
    assert json.loads(ours[0].form["payload"]) == json.loads(added["data"]["payload"])
    assert json.loads(ours[1].form["payload"]) == json.loads(removed["params"]["payload"])
    assert ours[0].headers == {"Authorization": "Bearer " + META["credentials"]["access_token"]}


def test_meta_sends_appsecret_proof_as_facebook_business_computes_it(api, project, kms_key):
    from facebook_business.session import FacebookSession

    # GIVEN a Meta destination whose credentials include the app's secret
    body = {**META, "credentials": {**META["credentials"], "app_secret": "0123456789abcdef0123"}}
    settings, secrets = meta.check(body)
    # WHEN we build its requests, and the library opens a session with the same secret and token
    sent = meta.requests_for(settings, secrets, [["a" * 64, ""]], [["b" * 64, ""]])
    session = FacebookSession(
        app_secret=secrets["app_secret"], access_token=META["credentials"]["access_token"]
    )
    # THEN every request carries the library's proof (in the form, not the URL)
    proof = session.requests.params["appsecret_proof"]
    assert [r.form["appsecret_proof"] for r in sent] == [proof, proof]
    assert all("appsecret_proof" not in r.url and "app_secret" not in r.url for r in sent)
    # and without a secret there is none
    settings, secrets = meta.check(META)
    assert all(
        "appsecret_proof" not in r.form
        for r in meta.requests_for(settings, secrets, [["a" * 64, ""]], [])
    )
    # THEN through the API the secret is stored sealed, listed as set, never shown
    sid = api.post("/segments", SEGMENT)[1]["segment_id"]
    status, created = api.post(f"/segments/{sid}/destinations", body)
    assert status == 201 and created["credentials"]["set"] == ["access_token", "app_secret"]
    assert "0123456789abcdef0123" not in json.dumps(api.get(f"/segments/{sid}/destinations")[1])
    bad = {**META, "credentials": {**META["credentials"], "app_secret": "has space"}}
    status, error = api.post(f"/segments/{sid}/destinations", bad)
    assert status == 400 and error["error"]["path"] == "/credentials/app_secret"


def test_meta_sends_at_most_10000_rows_a_request():
    rows = [[f"{i:064x}", ""] for i in range(25_001)]
    settings, secrets = meta.check(META)
    sent = meta.requests_for(settings, secrets, rows, rows[:3])
    sizes = [(r.method, len(json.loads(r.form["payload"])["data"])) for r in sent]
    assert sizes == [("POST", 10_000), ("POST", 10_000), ("POST", 5_001), ("DELETE", 3)]


def test_meta_normalisation_rules():
    assert identifiers.meta_email("  Ann.Smith@GMAIL.com ") == "ann.smith@gmail.com"  # dots kept
    assert identifiers.meta_phone("+1 (616) 954-1234") == "16169541234"
    assert identifiers.meta_phone("0031 6 12345678") == "31612345678"  # no leading zeros
    assert identifiers.meta_phone("06 12345678") is None  # no country code: not guessed
    assert identifiers.meta_keys({"attributes": {"phone": "06 1"}}) is None
