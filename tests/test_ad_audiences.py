"""Ad-platform audiences as destinations: Meta Custom Audiences and Google Ads Customer Match.
No network: every request is built by our code and handed to a recorder in place of
`transport.send`; the requests are checked against the platforms' own client libraries
(facebook-business, google-ads: dev dependencies), which build the same calls offline."""

import json

import boto3
import pytest

from chalicelib.services import destinations, scoring_jobs
from chalicelib.services.ad_audiences import google_ads, identifiers, meta, transport, worker
from chalicelib.storage import credentials, segment_table, work_messages, work_queue
from chalicelib.storage.work_messages import SyncAudience

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


# --- Google Ads: the job and operations google-ads' own types give ---------------------------


def google_types():
    from google.ads.googleads.client import GoogleAdsClient

    client = GoogleAdsClient(credentials=None, developer_token="x", version=google_ads.API_VERSION)
    return client


def user_list_path(customer_id, user_list_id):
    """The library's own resource-name builder (a class method: no client, no network)."""
    from importlib import import_module

    module = import_module(
        f"google.ads.googleads.{google_ads.API_VERSION}.services.services.user_list_service"
    )
    return module.UserListServiceClient.user_list_path(customer_id, user_list_id)


def as_json(message):
    from google.protobuf import json_format

    return json_format.MessageToDict(raw_protobuf(message))


def raw_protobuf(message):
    """The protobuf message under a proto-plus one (the client hands out either)."""
    return type(message).pb(message) if hasattr(type(message), "pb") else message


def test_google_job_matches_the_library_with_the_consent_configured():
    client = google_types()
    settings, _ = google_ads.check(GOOGLE)
    # WHEN the library builds the job request the way Google's Customer Match example does
    request = client.get_type("CreateOfflineUserDataJobRequest")
    request.customer_id = "1234567890"
    job = request.job
    job.type_ = client.enums.OfflineUserDataJobTypeEnum.CUSTOMER_MATCH_USER_LIST
    metadata = job.customer_match_user_list_metadata
    metadata.user_list = user_list_path("1234567890", "987654321")
    metadata.consent.ad_user_data = client.enums.ConsentStatusEnum.GRANTED
    metadata.consent.ad_personalization = client.enums.ConsentStatusEnum.DENIED
    # THEN our body is the same message
    assert {"customerId": "1234567890", **google_ads.job(settings)} == as_json(request)


def reference_google_hash(value, phone=False):
    """Google's documented steps (Customer Match / enhanced conversions guides): trim, lower
    case, gmail/googlemail without dots in the local part; phones in E.164; then SHA-256."""
    import hashlib
    import re

    text = value.strip().lower()
    if not phone:
        local, domain = text.split("@")
        if domain in ("gmail.com", "googlemail.com"):
            text = local.replace(".", "") + "@" + domain
    else:
        text = "+" + re.sub(r"[^0-9]", "", text)
    return hashlib.sha256(text.encode()).hexdigest()


def test_google_operations_match_the_library_field_by_field():
    from google.protobuf import json_format

    client = google_types()
    adds = [google_ads_keys(p) for p in ("a", "b")]
    removes = [google_ads_keys("c")]
    ours = {
        "resourceName": "customers/1234567890/offlineUserDataJobs/77",
        "operations": google_ads.operations(adds, removes),
        "enablePartialFailure": True,
    }
    # WHEN the library builds the same operations from the reference hashes
    request = client.get_type("AddOfflineUserDataJobOperationsRequest")
    request.resource_name = "customers/1234567890/offlineUserDataJobs/77"
    request.enable_partial_failure = True
    for verb, pid in (("create", "a"), ("create", "b"), ("remove", "c")):
        operation = client.get_type("OfflineUserDataJobOperation")
        email, phone = PEOPLE[pid]
        user_data = getattr(operation, verb)
        if email:
            identifier = client.get_type("UserIdentifier")
            identifier.hashed_email = reference_google_hash(email)
            user_data.user_identifiers.append(identifier)
        if phone:
            identifier = client.get_type("UserIdentifier")
            identifier.hashed_phone_number = reference_google_hash(phone, phone=True)
            user_data.user_identifiers.append(identifier)
        request.operations.append(operation)
    # THEN our JSON is that message (and parses strictly into the API's own type)
    assert ours == as_json(request)
    parsed = type(raw_protobuf(request))()
    json_format.ParseDict(ours, parsed)  # unknown or misspelt fields raise
    assert parsed == raw_protobuf(request)


def google_ads_keys(pid):
    return identifiers.google_keys(document(pid))


def test_google_batches_hold_at_most_10000_identifiers():
    ops = google_ads.operations([{"hashedEmail": "e", "hashedPhoneNumber": "p"}] * 12_000, [])
    sizes = [sum(len(o["create"]["userIdentifiers"]) for o in b) for b in google_ads.batches(ops)]
    assert sizes == [10_000, 10_000, 4_000]


def test_google_sync_creates_adds_and_runs_one_job(platform):
    settings, secrets = google_ads.check({**GOOGLE, "login_customer_id": "1112223333"})
    result = google_ads.sync(settings, secrets, [google_ads_keys("a")], [], platform)
    urls = [r.url.rsplit("/", 1)[-1] for r in platform.requests]
    assert urls == ["token", "offlineUserDataJobs:create", "77:addOperations", "77:run"]
    assert platform.requests[0].form["refresh_token"] == GOOGLE["credentials"]["refresh_token"]
    headers = platform.requests[1].headers
    assert headers["developer-token"] == GOOGLE["credentials"]["developer_token"]
    assert headers["login-customer-id"] == "1112223333"
    assert headers["Authorization"] == "Bearer ya29.access"
    assert result["job"].endswith("/77")


# --- Through the API and the work queue ------------------------------------------------------


def test_a_meta_audience_gets_entries_and_exits_and_never_shows_its_token(
    api, project, drain, platform, kms_key
):
    sid = api.post("/segments", SEGMENT)[1]["segment_id"]
    status, created = api.post(f"/segments/{sid}/destinations", META)
    # THEN the response shows the settings and that a token is set, never the token
    assert status == 201, created
    assert created["credentials"]["set"] == ["access_token"]
    assert created["credentials"]["fingerprint"].startswith("sha256:")
    assert META["credentials"]["access_token"] not in json.dumps(created)
    listed = api.get(f"/segments/{sid}/destinations")[1]["destinations"]
    assert listed == [created]
    stored = segment_table.get("acme", sid).destinations
    assert META["credentials"]["access_token"] not in json.dumps(stored)  # sealed with KMS
    for path in (f"/segments/{sid}", "/segments"):  # nor shown with the segment
        assert META["credentials"]["access_token"] not in json.dumps(api.get(path)[1])
    drain()  # the backfill of an empty segment sends nothing
    assert platform.requests == []
    # WHEN members enter (a, b, c matchable; d has no usable identifier)
    add_people(api, ["a", "b", "c", "d"])
    drain()
    added = platform.meta_rows("POST")
    assert sorted(added) == sorted(identifiers.meta_keys(document(p)) for p in "abc")
    assert platform.requests[0].headers["Authorization"].endswith("meta-token-0123456789")
    # WHEN the rule changes so that only b stays... b has revenue 60 as the others: raise it
    api.post(
        "/events",
        {
            "events": [
                {
                    "event_id": "b-2",
                    "profile_id": "b",
                    "type": "purchase",
                    "timestamp": "2026-11-02T10:00:00Z",
                    "value": 50,
                }
            ]
        },
    )
    scoring_jobs.score_profiles("acme", ["b"])
    drain()
    api.put(
        f"/segments/{sid}",
        {**SEGMENT, "rules": [{"field": "behaviour.revenue", "operator": "gte", "value": 100}]},
    )
    drain()
    # THEN a and c are removed with DELETE
    assert sorted(platform.meta_rows("DELETE")) == sorted(
        identifiers.meta_keys(document(p)) for p in "ac"
    )


def test_control_group_changes_are_never_sent(api, project, drain, platform, kms_key):
    sid = api.post("/segments", SEGMENT)[1]["segment_id"]
    api.post(f"/segments/{sid}/destinations", META)
    add_people(api, ["a"])
    drain()
    platform.requests.clear()
    # GIVEN a hand-built change of a control-group member (as memberships hand them over)
    segment = segment_table.get("acme", sid)
    queued = destinations.notify(
        "acme", segment, [{"profile_id": "a", "change": "exited", "at": "x", "control": True}]
    )
    drain()
    # THEN nothing is queued or sent
    assert queued == 0 and platform.requests == []
    # and a sweep leaves control-group members out too
    assert (
        worker.queue_changes(
            "acme", sid, "dst_x", [{"profile_id": "a", "change": "entered", "control": True}]
        )
        == []
    )


def test_a_failing_platform_is_retried_then_dead_lettered(
    api, project, drain, monkeypatch, kms_key
):
    sid = api.post("/segments", SEGMENT)[1]["segment_id"]
    api.post(f"/segments/{sid}/destinations", META)
    drain()
    failing = Platform(statuses=[500] * 20)
    monkeypatch.setattr(transport, "send", failing)
    add_people(api, ["a"])
    drain()
    assert len(failing.requests) == work_queue.MAX_RECEIVES
    sqs = work_queue.sqs_client()
    dead = sqs.get_queue_url(QueueName=work_queue.bind().work_queue + "-dead")["QueueUrl"]
    bodies = [
        json.loads(m["Body"])
        for m in sqs.receive_message(QueueUrl=dead, MaxNumberOfMessages=10).get("Messages", [])
    ]
    assert [(b["kind"], b["mode"]) for b in bodies] == [("sync_audience", "changes")]


def test_a_new_destination_is_backfilled_with_current_members(
    api, project, drain, platform, kms_key
):
    sid = api.post("/segments", SEGMENT)[1]["segment_id"]
    add_people(api, ["a", "b"])
    drain()
    api.post(f"/segments/{sid}/destinations", GOOGLE)
    drain()
    job = platform.requests[1].json["job"]["customerMatchUserListMetadata"]
    assert job["consent"] == {"adUserData": "GRANTED", "adPersonalization": "DENIED"}
    added = [
        op["create"]
        for r in platform.requests
        if r.url.endswith(":addOperations")
        for op in r.json["operations"]
    ]
    assert len(added) == 2


def test_members_are_refreshed_before_their_lifetime_ends(api, project, drain, platform, kms_key):
    sid = api.post("/segments", SEGMENT)[1]["segment_id"]
    api.post(f"/segments/{sid}/destinations", META)
    add_people(api, ["a", "b"])
    drain()
    # GIVEN a destination (and its members' sends) 340 days old: Meta's assumed 365-day lifetime
    # less the 30-day margin is 335 days
    segment = segment_table.get("acme", sid)
    [destination] = segment.destinations
    old = {**destination, "created_at": "2025-12-29T00:00:00Z"}
    segment = segment_table.set_destinations(segment, [old])
    backdate_memberships(sid, "2025-12-29T00:00:00.000000Z")
    platform.requests.clear()
    # WHEN the daily sweep runs twice
    assert worker.queue_refreshes() == 1
    drain()
    first = sorted(platform.meta_rows("POST"))
    platform.requests.clear()
    worker.queue_refreshes()
    drain()
    # THEN the members are sent again once, not on the second sweep
    assert first == sorted(identifiers.meta_keys(document(p)) for p in "ab")
    assert platform.requests == []


def backdate_memberships(segment_id, at):
    from chalicelib.storage import table_keys
    from chalicelib.storage.tables import MembershipModel

    for item in MembershipModel.query(table_keys.segment_ref("acme", segment_id)):
        item.update(actions=[MembershipModel.entered_at.set(at)])


def test_refresh_is_due_once_per_period():
    from datetime import datetime, timezone

    from chalicelib.services.ad_audiences import due

    d = {
        "created_at": "2026-01-01T00:00:00Z",
        "settings": {"membership_lifetime_days": 540},  # Google: refresh every 510 days
    }

    def at(day):
        return datetime(2026, 1, 1, tzinfo=timezone.utc) + __import__("datetime").timedelta(day)

    entered = "2026-01-11T00:00:00.000000Z"
    assert not due(d, entered, at(519))
    assert due(d, entered, at(520))
    assert not due({**d, "refreshed_at": at(520).isoformat()}, entered, at(521))
    # a member who entered before the destination existed was first sent at its creation
    assert due(d, "2020-01-01T00:00:00.000000Z", at(510))


@pytest.mark.parametrize(
    "body, path",
    [
        ({**META, "type": "tiktok"}, "/type"),
        ({**META, "type": ["meta_custom_audience"]}, "/type"),
        ({**META, "type": None}, "/type"),
        ({**META, "credentials": "EAAB-meta-token"}, "/credentials"),
        ({**META, "membership_lifetime_days": True}, "/membership_lifetime_days"),
        ({**META, "audience_id": "abc"}, "/audience_id"),
        ({**META, "credentials": {}}, "/credentials/access_token"),
        ({**META, "credentials": {"access_token": "a b c d e f g h"}}, "/credentials/access_token"),
        (
            {**META, "credentials": {"access_token": "token-\u00e9-unicode"}},
            "/credentials/access_token",
        ),
        ({**META, "membership_lifetime_days": 0}, "/membership_lifetime_days"),
        ({**META, "url": "https://x"}, "/url"),
        ({**GOOGLE, "customer_id": "12345"}, "/customer_id"),
        ({**GOOGLE, "consent": {"ad_user_data": "GRANTED"}}, "/consent/ad_personalization"),
        (
            {**GOOGLE, "consent": {"ad_user_data": "yes", "ad_personalization": "DENIED"}},
            "/consent/ad_user_data",
        ),
        ({**GOOGLE, "membership_lifetime_days": 541}, "/membership_lifetime_days"),
        ({k: v for k, v in GOOGLE.items() if k != "credentials"}, "/credentials"),
    ],
)
def test_bad_settings_are_400_naming_the_field(api, project, kms_key, body, path):
    sid = api.post("/segments", SEGMENT)[1]["segment_id"]
    status, answer = api.post(f"/segments/{sid}/destinations", body)
    assert (status, answer["error"]["path"]) == (400, path)
    assert api.get(f"/segments/{sid}/destinations")[1] == {"destinations": []}


def test_without_a_key_credentials_are_refused_not_stored(api, project, monkeypatch):
    monkeypatch.delenv(credentials.KMS_KEY_VARIABLE, raising=False)
    monkeypatch.delenv(credentials.KEY_FILE_VARIABLE, raising=False)
    sid = api.post("/segments", SEGMENT)[1]["segment_id"]
    status, answer = api.post(f"/segments/{sid}/destinations", META)
    assert (status, answer["error"]["path"]) == (409, "/credentials")
    assert api.get(f"/segments/{sid}/destinations")[1] == {"destinations": []}


# --- Sealing -----------------------------------------------------------------------------------


def test_kms_sealed_credentials_open_only_for_their_destination(kms_key):
    sealed = credentials.seal("acme", "dst_1", {"access_token": "secret-token"})
    assert sealed["by"] == "kms" and "secret-token" not in json.dumps(sealed)
    assert credentials.open_sealed("acme", "dst_1", sealed) == {"access_token": "secret-token"}
    with pytest.raises(credentials.CredentialsUnavailable):  # the context names the destination
        credentials.open_sealed("acme", "dst_2", sealed)


def test_local_key_file_seals_with_aes_gcm(tmp_path, monkeypatch):
    monkeypatch.delenv(credentials.KMS_KEY_VARIABLE, raising=False)
    monkeypatch.setenv(credentials.KEY_FILE_VARIABLE, str(tmp_path / "k" / "credentials.key"))
    sealed = credentials.seal("acme", "dst_1", {"access_token": "secret-token"})
    assert sealed["by"] == "local" and "secret-token" not in json.dumps(sealed)
    assert (tmp_path / "k" / "credentials.key").stat().st_mode & 0o077 == 0
    assert credentials.open_sealed("acme", "dst_1", sealed) == {"access_token": "secret-token"}
    with pytest.raises(credentials.CredentialsUnavailable):
        credentials.open_sealed("globex", "dst_1", sealed)


# --- The one module that sends ---------------------------------------------------------------


class FakeRequests:
    """`requests.request` replaced: records the call, answers 200 with a JSON body."""

    def __init__(self):
        self.calls = []

    def __call__(self, method, url, **kwargs):
        self.calls.append((method, url, kwargs))

        class Answer:
            status_code = 200

            def json(self):
                return {"num_received": 1}

        return Answer()


def test_transport_sends_only_to_the_platforms(monkeypatch):
    import requests

    fake = FakeRequests()
    monkeypatch.setattr(requests, "request", fake)
    monkeypatch.setenv(transport.OFFLINE_VARIABLE, "0")
    # GIVEN requests to another host, or over http
    for url in ("https://169.254.169.254/latest", "http://graph.facebook.com/v26.0/1/users"):
        with pytest.raises(transport.SendFailed):
            transport.send(transport.Request("POST", url))
    assert fake.calls == []
    # WHEN a platform's request is sent THEN it goes as built, without following redirects
    answer = transport.send(
        transport.Request("POST", "https://graph.facebook.com/v26.0/1/users", {"A": "b"}, {"x": 1})
    )
    assert answer == transport.Response(200, {"num_received": 1})
    [(method, url, kwargs)] = fake.calls
    assert (method, kwargs["data"], kwargs["json"], kwargs["headers"]) == (
        "POST",
        {"x": 1},
        None,
        {"A": "b"},
    )
    assert kwargs["allow_redirects"] is False


def test_offline_transport_touches_nothing(monkeypatch):
    """Tests and `make run` (unless AD_PLATFORMS_OFFLINE=0) send nothing: a sync fails."""
    import requests

    fake = FakeRequests()
    monkeypatch.setattr(requests, "request", fake)
    with pytest.raises(transport.SendFailed, match="offline"):
        transport.send(transport.Request("POST", "https://graph.facebook.com/v26.0/1/users"))
    assert fake.calls == []


def test_offline_recording_answers_like_the_platforms_and_keeps_no_secret(monkeypatch, tmp_path):
    """`make run` with AD_PLATFORMS_RECORD_FILE: each request is written to the file (without
    credentials) and answered as the platform would, so whole syncs complete offline."""
    import requests

    from chalicelib.services.ad_audiences import offline

    fake = FakeRequests()
    monkeypatch.setattr(requests, "request", fake)
    record = tmp_path / "requests.jsonl"
    monkeypatch.setenv(transport.OFFLINE_VARIABLE, "1")
    monkeypatch.setenv(offline.RECORD_VARIABLE, str(record))
    # WHEN a Google and a Meta sync run through the real transport
    settings, secrets = google_ads.check(GOOGLE)
    row = identifiers.google_keys(document("a"))
    result = google_ads.sync(settings, secrets, [row], [], transport.send)
    m_settings, m_secrets = meta.check(META)
    m_result = meta.sync(m_settings, m_secrets, [["a" * 64, ""]], [], transport.send)
    # THEN both complete, nothing reaches the network, and the file holds every request
    assert result["job"] == "customers/1234567890/offlineUserDataJobs/1"
    assert m_result["received"] == 1 and fake.calls == []
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    assert [line["url"].rsplit("/", 1)[-1] for line in lines] == [
        "token",
        "offlineUserDataJobs:create",
        "1:addOperations",
        "1:run",
        "users",
    ]
    text = record.read_text()
    for secret in [*GOOGLE["credentials"].values(), META["credentials"]["access_token"]]:
        if secret != GOOGLE["credentials"]["client_id"]:
            assert secret not in text


def test_responses_follow_the_openapi_schemas(api, project, kms_key, platform):
    import jsonschema

    from chalicelib.api import docs_routes

    spec = json.loads(docs_routes.SPEC_PATH.read_text(encoding="utf-8"))

    def check(instance, name):
        schema = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
        jsonschema.Draft202012Validator(schema).validate(instance)

    created_schema = spec["paths"]["/projects/{project_id}/segments/{segment_id}/destinations"][
        "post"
    ]["responses"]["201"]["content"]["application/json"]["schema"]
    inputs = {
        "MetaCustomAudienceInput": META,
        "GoogleCustomerMatchInput": {**GOOGLE, "login_customer_id": "111-222-3333"},
        "WebhookDestinationInput": {"url": "http://127.0.0.1:9/h"},
    }
    sid = api.post("/segments", SEGMENT)[1]["segment_id"]
    for name, body in inputs.items():
        check(body, name)  # GIVEN bodies the spec describes
        status, created = api.post(f"/segments/{sid}/destinations", body)
        # THEN each is created, and answered as the spec says
        assert status == 201, created
        jsonschema.Draft202012Validator(
            {**created_schema, "components": spec["components"]}
        ).validate(created)
    for destination in api.get(f"/segments/{sid}/destinations")[1]["destinations"]:
        check(destination, "Destination")


# --- The work message --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        SyncAudience(
            "acme", "seg_1", "dst_1", "changes", ({"profile_id": "p", "change": "exited"},)
        ),
        SyncAudience("acme", "seg_1", "dst_1", "backfill"),
        SyncAudience("acme", "seg_1", "dst_1", "refresh"),
    ],
    ids=lambda m: m.mode,
)
def test_a_sync_message_reads_back_as_what_was_sent(message):
    body = json.dumps(message.to_message())
    assert work_messages.parse(body) == message and json.loads(body)["kind"] == "sync_audience"


@pytest.mark.parametrize(
    "changes, mode", [("not a list", "changes"), ([], "everything"), ([], None)]
)
def test_a_malformed_sync_message_is_refused(changes, mode):
    body = {"kind": "sync_audience", "project_id": "a", "segment_id": "s", "destination_id": "d"}
    with pytest.raises(work_messages.MalformedMessage):
        work_messages.parse(json.dumps({**body, "mode": mode, "changes": changes}))


def test_a_sync_of_a_deleted_destination_is_skipped(api, project, drain, platform, kms_key):
    # GIVEN queued changes for a destination, which is then removed
    sid = api.post("/segments", SEGMENT)[1]["segment_id"]
    created = api.post(f"/segments/{sid}/destinations", META)[1]
    drain()
    add_people(api, ["a"])
    api.delete(f"/segments/{sid}/destinations/{created['destination_id']}")
    # WHEN the queue is worked off THEN nothing is sent
    drain()
    assert platform.requests == []


def test_sweeps_leave_control_group_members_out(monkeypatch):
    """GIVEN stored members, one of them in the control group WHEN a backfill sweeps them THEN
    only the other is queued for upload."""
    from types import SimpleNamespace

    from chalicelib.storage import audience_members

    members = [
        {"profile_id": "a", "entered_at": "2026-01-01T00:00:00.000000Z", "control": False},
        {"profile_id": "z", "entered_at": "2026-01-01T00:00:00.000000Z", "control": True},
    ]
    monkeypatch.setattr(audience_members, "walk", lambda project_id, segment_id: iter(members))
    sent = []
    monkeypatch.setattr(work_queue, "send", sent.extend)
    segment = SimpleNamespace(segment_id="seg_1")
    destination = {"destination_id": "dst_1", "created_at": "2026-01-01T00:00:00Z"}
    assert worker.sweep("acme", segment, destination, everyone=True)["queued"] == 1
    assert [c["profile_id"] for m in sent for c in m.changes] == ["a"]
