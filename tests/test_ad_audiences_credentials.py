"""Ad destinations' settings and credentials: a bad setting is a 400 naming its field, and without
a key credentials are refused, not stored; credentials are sealed (KMS, or a local AES-GCM key
file) for their own destination only; the one module that sends (transport) goes only to the
platforms, or offline records requests without secrets; the API's answers follow the OpenAPI
schemas. No network (tests/ad_audience_support.py)."""

import json

import ad_audience_support as support
import pytest
from ad_audience_support import GOOGLE, META, SEGMENT, document

from chalicelib.services.ad_audiences import google_ads, identifiers, meta, transport
from chalicelib.storage import credentials

# the ad-audience fixtures, shared: the platform recorder, a KMS key that seals credentials
platform, kms_key = support.platform, support.kms_key


# --- Settings and credentials at the API edge ------------------------------------------------


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
