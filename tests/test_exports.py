"""Segment exports over HTTP: CSV and JSON Lines equal to the members, formula injection
neutralised, customer-match hashes of normalised identifiers, large exports through S3 and the
download route, expiry, validation, tenant isolation, and erasure of stored exports."""

import csv
import hashlib
import io
import json
from datetime import date, timedelta

import pytest
from conftest import Api, set_predictive

from chalicelib.services import export_format as fmt
from chalicelib.services import exports as service
from chalicelib.storage import export_store
from chalicelib.storage.connection import bind
from chalicelib.storage.model_store import s3_client

PEOPLE = {
    "p00": {"email": "  John.Doe@Gmail.com ", "phone": "+31 (0)6 1234-5678", "country": "NL"},
    "p01": {"email": "Jane.Doe@Example.COM", "phone": "0044 20 7946 0958", "country": "BE"},
    "p02": {"email": "j.smith@googlemail.com", "phone": "06 12345678", "country": "NL"},
    "p03": {"phone": "+1 (415) 555-2671", "country": "BE"},
    "p04": {"country": "NL"},  # neither email nor phone: skipped by customer match
    "p05": {"phone": "not a phone", "country": "BE"},  # no usable identifier: skipped
    "p06": {
        "email": '=HYPERLINK("http://evil")',
        "phone": "+44 1",
        "country": "NL",
        "note": "@SUM(A1)",
    },
    "p07": {
        "email": "-2+3@example.com",
        "phone": "\tcmd",
        "country": "BE",
        "note": 'a "quoted", value\r\nnext line',
    },
    "p08": {"email": "x@example.com", "country": "DE"},  # not in the segment
}


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def shop(api, project):
    api.post(
        "/profiles",
        {"profiles": [{"profile_id": pid, "attributes": attrs} for pid, attrs in PEOPLE.items()]},
    )
    for i, pid in enumerate(PEOPLE):
        set_predictive(
            project["id"],
            pid,
            {
                "conversion_potential": i * 10,
                "clv": i * 25.5,
                "customer_type": "Explorer",
                "persuasion_type": "Liking",
            },
        )
    status, seg = api.post(
        "/segments",
        {
            "name": "Benelux",
            "match": "all",
            "rules": [{"field": "attributes.country", "operator": "in", "value": ["NL", "BE"]}],
        },
    )
    assert status == 201
    return seg["segment_id"]


def fetch(api, path, key=None):
    """The raw response (headers and bytes) of a GET under the project."""
    return api.client.http.get(api.p(path), headers={"x-api-key": key or api.project["key"]})


def members(api, segment_id):
    status, page = api.get(f"/segments/{segment_id}/members?limit=500")
    assert status == 200 and "next_cursor" not in page
    return sorted(page["profiles"], key=lambda p: p["profile_id"])  # exports are in id order


def expected_row(profile, fields):
    return {
        "profile_id": profile["profile_id"],
        **{f: profile[f.split(".")[0]].get(f.split(".")[1]) for f in fields},
    }


def csv_rows(body: bytes):
    return list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))


def test_inline_csv_equals_the_members(api, shop):
    response = fetch(api, f"/segments/{shop}/export?format=csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{shop}.csv"'
    table = csv_rows(response.body)
    columns = ["profile_id", *fmt.DEFAULT_FIELDS]
    assert table[0] == columns
    expected = [
        [fmt.csv_cell(v) for v in expected_row(p, fmt.DEFAULT_FIELDS).values()]
        for p in members(api, shop)
    ]
    assert table[1:] == expected
    assert [r[0] for r in table[1:]] == ["p00", "p01", "p02", "p03", "p04", "p05", "p06", "p07"]
    assert response.headers["X-Export-Rows"] == "8" and response.headers["X-Export-Skipped"] == "0"
    assert b"\r\n" in response.body  # RFC 4180 line ends


def test_inline_jsonl_equals_the_members_with_chosen_fields(api, shop):
    fields = ["attributes.note", "predictive.clv", "attributes.country"]
    response = fetch(api, f"/segments/{shop}/export?format=jsonl&fields={','.join(fields)}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/x-ndjson"
    assert response.headers["Content-Disposition"].endswith(f'filename="{shop}.jsonl"')
    lines = response.body.decode().splitlines()
    assert [json.loads(line) for line in lines] == [
        expected_row(p, fields) for p in members(api, shop)
    ]
    assert list(json.loads(lines[0])) == ["profile_id", *fields]  # the order asked for


def test_csv_neutralises_formulas_and_quotes_properly(api, shop):
    response = fetch(
        api, f"/segments/{shop}/export?fields=attributes.email,attributes.phone,attributes.note"
    )
    by_id = {row[0]: row[1:] for row in csv_rows(response.body)[1:]}
    assert by_id["p06"] == ['\'=HYPERLINK("http://evil")', "'+44 1", "'@SUM(A1)"]
    assert by_id["p07"] == ["'-2+3@example.com", "'\tcmd", 'a "quoted", value\r\nnext line']
    assert by_id["p00"][0] == "  John.Doe@Gmail.com "  # plain values are left as they are
    assert fmt.csv_cell(-3) == "-3" and fmt.csv_cell("\rx") == "'\rx"  # numbers are no formulas


def test_customer_match_hashes_normalised_email_and_phone(api, shop):
    response = fetch(api, f"/segments/{shop}/export?customer_match=true")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith(f'filename="{shop}-customer-match.csv"')
    table = csv_rows(response.body)
    assert table[0] == ["Email", "Phone"]  # Google Ads' Customer Match template headers
    assert table[1:] == [
        [sha("johndoe@gmail.com"), sha("+31612345678")],  # p00: gmail dots go
        [sha("jane.doe@example.com"), sha("+442079460958")],  # p01: other dots stay
        [sha("jsmith@googlemail.com"), ""],  # p02: no country code
        ["", sha("+14155552671")],  # p03: phone only
        # p04, p05, p06 (no "@", and "+44 1" is too short): skipped
        [sha("-2+3@example.com"), ""],  # p07
    ]
    assert response.headers["X-Export-Rows"] == "5"
    assert response.headers["X-Export-Skipped"] == "3"
    status, body = api.get(f"/segments/{shop}/export?customer_match=true&format=jsonl")
    lines = [json.loads(line) for line in body.decode().splitlines()]
    assert lines[0] == {"Email": sha("johndoe@gmail.com"), "Phone": sha("+31612345678")}
    assert len(lines) == 5


def test_normalisation_rules():
    assert fmt.normalise_email("  John.Doe@Gmail.com ") == "johndoe@gmail.com"
    assert fmt.normalise_email("A.B.C@GoogleMail.com") == "abc@googlemail.com"
    assert fmt.normalise_email("A.B+tag@example.org") == "a.b+tag@example.org"
    for bad in ["", "   ", "no-at-sign", "@example.com", "a@", "a b@example.com", 5, None]:
        assert fmt.normalise_email(bad) is None, bad
    assert fmt.normalise_phone("+1 (415) 555-2671") == "+14155552671"
    assert fmt.normalise_phone("0031 6 12 34 56 78") == "+31612345678"
    assert fmt.normalise_phone("+49 (0)30 1234567") == "+49301234567"
    assert fmt.normalise_phone("+31.6.1234.5678") == "+31612345678"
    for bad in [
        "0612345678",
        "612345678",
        "+0 123 456 789",
        "+1 234",
        "+1234567890123456",
        "+31 6 1234 567x",
        "+٣١٦١٢٣٤٥٦٧٨",
        31612345678,
        None,
    ]:
        assert fmt.normalise_phone(bad) is None, bad
    assert fmt.customer_match_row({"attributes": {"email": ["First@X.com", "second@x.com"]}}) == {
        "Email": sha("first@x.com"),
        "Phone": "",
    }
    assert fmt.customer_match_row({"attributes": {"phone": "n/a"}}) is None


def test_a_large_export_goes_to_s3_and_downloads_through_the_api(api, shop, project, monkeypatch):
    inline = fetch(api, f"/segments/{shop}/export").body
    monkeypatch.setattr(service, "INLINE_MAX_ROWS", 3)
    status, body = api.get(f"/segments/{shop}/export")
    assert status == 200
    assert body["rows"] == 8 and body["skipped"] == 0 and body["bytes"] == len(inline)
    export_id = body["export_id"]
    assert export_id.startswith("exp_")
    assert body["download_path"] == f"/projects/acme/exports/{export_id}"
    assert f"exports/acme/{export_id}.csv" in body["download_url"]
    assert "Signature=" in body["download_url"]
    assert body["expires_at"] <= body["export_expires_at"]
    # the object: the key of the brief, with its creation time
    head = s3_client().head_object(Bucket=bind().model_bucket, Key=f"exports/acme/{export_id}.csv")
    assert head["Metadata"]["created-at"] <= body["export_expires_at"]
    # the API route returns the stored file
    response = api.client.http.get(body["download_path"], headers={"x-api-key": project["key"]})
    assert response.status_code == 200 and response.body == inline
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{shop}.csv"'
    assert response.headers["X-Export-Rows"] == "8"
    # a file over the response cap: the route answers with a fresh presigned URL only
    monkeypatch.setattr(service, "INLINE_MAX_BYTES", 10)
    status, link = api.get(f"/exports/{export_id}")
    assert status == 200 and link["export_id"] == export_id and "Signature=" in link["download_url"]
    assert link["rows"] == 8 and "expires_at" in link


def test_the_byte_cap_sends_an_export_to_s3_too(api, shop, monkeypatch):
    monkeypatch.setattr(service, "INLINE_MAX_BYTES", 100)
    status, body = api.get(f"/segments/{shop}/export?format=jsonl")
    assert status == 200 and body["rows"] == 8 and body["download_url"]
    monkeypatch.setattr(service, "INLINE_MAX_BYTES", 4_000_000)
    response = fetch(api, f"/exports/{body['export_id']}")
    assert response.headers["Content-Type"] == "application/x-ndjson"
    assert len(response.body.decode().splitlines()) == 8


def test_exports_expire_after_a_day(api, shop, monkeypatch):
    monkeypatch.setattr(service, "INLINE_MAX_ROWS", 1)
    export_id = api.get(f"/segments/{shop}/export")[1]["export_id"]
    assert api.get(f"/exports/{export_id}")[0] == 200
    made = service._now()
    monkeypatch.setattr(service, "_now", lambda: made + timedelta(days=1, seconds=1))
    status, body = api.get(f"/exports/{export_id}")
    assert status == 410 and body["error"]["code"] == "expired"
    assert export_store.LIFECYCLE_RULE["Expiration"] == {"Days": 1}


def test_unknown_exports_and_other_projects(api, shop, other_project, client, monkeypatch):
    monkeypatch.setattr(service, "INLINE_MAX_ROWS", 1)
    export_id = api.get(f"/segments/{shop}/export")[1]["export_id"]
    assert api.get("/exports/exp_0123456789abcdef0123")[0] == 404
    status, body = api.get("/exports/exp_zz")
    assert status == 404 and body["error"]["path"] == "/export_id"
    assert api.get("/exports/bad%20id")[0] in (400, 404)
    # a key of another project: 403 on this project's routes ...
    other_key = other_project["key"]
    assert fetch(api, f"/exports/{export_id}", key=other_key).status_code == 403
    assert fetch(api, f"/segments/{shop}/export", key=other_key).status_code == 403
    # ... and under its own project the id names nothing
    other = Api(client, other_project)
    assert other.get(f"/exports/{export_id}")[0] == 404


def test_validation_errors(api, shop):
    for query, path in [
        ("format=xml", "/format"),
        ("format=CSV", "/format"),
        ("customer_match=yes", "/customer_match"),
        ("fields=attributes.nope", "/fields"),
        ("fields=", "/fields"),
        ("fields=predictive.clv,,profile_id", "/fields"),
        ("customer_match=true&fields=predictive.clv", "/fields"),
    ]:
        status, body = api.get(f"/segments/{shop}/export?{query}")
        assert status == 400, query
        assert body["error"]["path"] == path, query
    assert api.get("/segments/seg_0000000000000000/export")[0] == 404
    assert api.get(f"/segments/{shop}/export?customer_match=false&format=jsonl")[0] == 200


def test_a_stale_segment_is_409(api, shop):
    api.post(
        "/profiles",
        {"profiles": [{"profile_id": f"n{i}", "attributes": {"size": i}} for i in range(2)]},
    )
    sid = api.post(
        "/segments",
        {
            "name": "big",
            "match": "all",
            "rules": [{"field": "attributes.size", "operator": "gte", "value": 1}],
        },
    )[1]["segment_id"]
    api.post(
        "/profiles",
        {"profiles": [{"profile_id": f"t{i}", "attributes": {"size": "XL"}} for i in range(3)]},
    )  # now a text field
    status, body = api.get(f"/segments/{sid}/export")
    assert status == 409 and body["error"]["code"] == "stale_segment"


def test_too_large_a_segment_is_refused(api, shop, monkeypatch):
    monkeypatch.setattr(service, "MAX_EXPORT_ROWS", 5)
    status, body = api.get(f"/segments/{shop}/export")
    assert status == 413 and body["error"]["code"] == "export_too_large"


def test_the_snapshot_path_reads_members_in_batches_and_stays_fresh(
    api, shop, project, monkeypatch
):
    from chalicelib.services import scoring_jobs
    from chalicelib.storage import snapshot_store

    scoring_jobs.rescore_project(project["id"], date(2026, 11, 20))  # takes the snapshot
    assert snapshot_store.latest(project["id"]) is not None
    api.put("/profiles/p08", {"attributes": {"country": "NL"}})  # enters after the snapshot
    api.delete("/profiles/p01")  # erased after the snapshot: leaves
    monkeypatch.setattr(service, "READ_BATCH", 3)
    calls = []
    from chalicelib.storage import profile_table

    real = profile_table.documents
    monkeypatch.setattr(
        profile_table, "documents", lambda pid, ids: calls.append(len(ids)) or real(pid, ids)
    )
    status, body = api.get(f"/segments/{shop}/export?format=jsonl&fields=profile_id")
    ids = [json.loads(line)["profile_id"] for line in body.decode().splitlines()]
    assert ids == ["p00", "p02", "p03", "p04", "p05", "p06", "p07", "p08"]
    assert calls[-3:] == [3, 3, 2]  # the members' documents, a batch per page of ids
    assert ids == [p["profile_id"] for p in members(api, shop)]


def test_erase_stored_exports_removes_the_files(api, shop, other_project, client, monkeypatch):
    monkeypatch.setattr(service, "INLINE_MAX_ROWS", 1)
    first = api.get(f"/segments/{shop}/export")[1]["export_id"]
    second = api.get(f"/segments/{shop}/export?customer_match=true")[1]["export_id"]
    other = Api(client, other_project)
    other.post(
        "/profiles",
        {
            "profiles": [
                {"profile_id": "g1", "attributes": {"country": "NL"}},
                {"profile_id": "g2", "attributes": {"country": "NL"}},
            ]
        },
    )
    oseg = other.post(
        "/segments",
        {
            "name": "all",
            "match": "all",
            "rules": [{"field": "attributes.country", "operator": "exists"}],
        },
    )[1]["segment_id"]
    kept = other.get(f"/segments/{oseg}/export")[1]["export_id"]
    assert api.get(f"/exports/{first}")[0] == 200

    assert export_store.erase_stored_exports("acme") == 2

    for export_id in (first, second):
        assert api.get(f"/exports/{export_id}")[0] == 404
    listed = s3_client().list_objects_v2(Bucket=bind().model_bucket, Prefix="exports/acme/")
    assert not listed.get("Contents")
    assert other.get(f"/exports/{kept}")[0] == 200  # another project's exports stay
    assert export_store.erase_stored_exports("acme") == 0
    assert export_store.erase_stored_exports("no-exports-yet") == 0
