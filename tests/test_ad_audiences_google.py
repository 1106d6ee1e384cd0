"""Google Ads Customer Match as a destination: the offline user data job (with the consent
configured) and its operations are the messages the platform's own client library (google-ads, a
dev dependency) builds offline, hashed as Google documents; at most 10,000 identifiers a batch;
one sync creates a job, adds to it and runs it. No network (tests/ad_audience_support.py)."""

import ad_audience_support as support
from ad_audience_support import GOOGLE, PEOPLE, document

from chalicelib.services.ad_audiences import google_ads, identifiers

# the ad-audience fixtures, shared: the platform recorder in place of `transport.send`
platform = support.platform

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
