"""Erasure: after DELETE /profiles/{id}, nothing of the profile can be read back: not by any
route of the app's route table, not from the tables, not from the snapshots in S3."""

from datetime import date

from conftest import purchase_event

from app import app
from chalicelib.audience.builder import SnapshotBuilder
from chalicelib.rules.columnar import Snapshot
from chalicelib.services import scoring_jobs
from chalicelib.storage import change_log, membership_table, snapshot_store
from chalicelib.storage.connection import bind
from chalicelib.storage.model_store import s3_client
from chalicelib.storage.tables import ALL_MODELS

ERASED = "erase-me-7f3a"
SECRET = "erase.me.7f3a@example.com"
SEGMENT = {
    "name": "buyers",
    "match": "all",
    "rules": [{"field": "behaviour.orders", "operator": "gte", "value": 1}],
}


def every_stored_item() -> list[str]:
    """Every item of every table, as text."""
    bind()
    return [str(item.to_simple_dict()) for model in ALL_MODELS for item in model.scan()]


def every_s3_object() -> dict[str, bytes]:
    s3, bucket = s3_client(), bind().model_bucket
    keys = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for o in page.get("Contents", [])
    ]
    return {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


def test_an_erased_profile_cannot_be_read_back_anywhere(api, project, drain, monkeypatch):
    # given: the profile is stored, scored, in a segment, in the snapshot, and changed after it
    api.put(f"/profiles/{ERASED}", {"attributes": {"email": SECRET, "country": "NL"}})
    api.post(
        "/events",
        {
            "events": [purchase_event(ERASED, 0, value=30.0)]
            + [purchase_event(f"p{i}", 0, value=30.0) for i in range(5)]
        },
    )
    sid = api.post("/segments", SEGMENT)[1]["segment_id"]
    drain()
    scoring_jobs.rescore_project(project["id"], date(2026, 11, 20))
    api.post("/events", {"events": [purchase_event(ERASED, 1, value=30.0)]})
    scoring_jobs.score_profiles(project["id"], [ERASED])
    assert ERASED in snapshot_store.latest(project["id"])[0].profile_ids
    assert ERASED in membership_table.members(project["id"], sid)
    # and in an export stored in S3 before the erasure
    from chalicelib.services import exports

    monkeypatch.setattr(exports, "INLINE_MAX_ROWS", 1)
    status, stored = api.get(f"/segments/{sid}/export?format=jsonl")
    assert status == 200 and stored["export_id"]
    assert api.get(f"/exports/{stored['export_id']}")[0] == 200
    # when: it is erased, and the background work runs
    assert api.delete(f"/profiles/{ERASED}")[0] == 200
    drain()
    # then: no GET route of the app answers with anything of it
    for path, methods in app.routes.items():
        if "GET" not in methods:
            continue
        url = (
            path.replace("{project_id}", project["id"])
            .replace("{profile_id}", ERASED)
            .replace("{segment_id}", sid)
            .replace("{job_id}", "none")
            .replace("{export_id}", stored["export_id"])
        )
        for query in ("", "?limit=500", "?since=2000-01-01T00:00:00Z&limit=500"):
            status, body = api.call("GET", url + query)
            text = str(body)
            assert (
                ERASED not in text.replace(f"profile {ERASED!r} not found", "")
                and SECRET not in text
            ), (url + query, status)
    status, preview = api.post("/segments/preview", SEGMENT)
    assert status == 200 and ERASED not in str(preview) and preview["count"] == 5
    # no table holds its data; the change log keeps only a tombstone with its id (no data),
    # which hides its rows in snapshots taken before the erasure until they expire
    leftovers = [item for item in every_stored_item() if ERASED in item or SECRET in item]
    assert len(leftovers) == 1 and "'kind': 'erased'" in leftovers[0], leftovers
    assert "doc" not in leftovers[0]
    # no snapshot in S3 has a row of it
    objects = every_s3_object()
    snapshot_keys = [k for k in objects if k.startswith(f"snapshots/{project['id']}/")]
    assert len(snapshot_keys) == 1  # older snapshots are deleted when a new one is saved
    for key, blob in objects.items():
        if key.startswith("snapshots/"):
            assert ERASED not in Snapshot.from_bytes(blob).profile_ids
        assert SECRET.encode() not in blob and ERASED.encode() not in blob, key


def test_a_snapshot_taken_while_a_profile_is_erased_drops_its_row(api, project):
    api.post(
        "/events",
        {"events": [purchase_event(ERASED, 0, value=30.0), purchase_event("p1", 0, value=30.0)]},
    )
    builder = SnapshotBuilder(project["id"])
    from chalicelib.storage import profile_table

    builder.add(list(profile_table.documents(project["id"], [ERASED, "p1"]).values()))
    # the profile is erased after the snapshot read it, before the snapshot is saved
    api.delete(f"/profiles/{ERASED}")
    builder.save()
    assert list(snapshot_store.latest(project["id"])[0].profile_ids) == ["p1"]
    assert ERASED in change_log.erased_since(project["id"], builder.taken_at)


def test_a_snapshot_reads_no_change_entries_for_erasures_when_none_happened(
    api, project, monkeypatch
):
    """GIVEN a project with recent change entries and no erasure, looked at once already WHEN a
    snapshot looks for the profiles erased since it began THEN it reads no change entry (a
    compaction used to read every entry of the last two minutes for this); AND after an
    erasure it finds the profile."""
    from chalicelib.storage.tables import ChangeModel

    api.post("/events", {"events": [purchase_event(f"p{i}", 0, value=5.0) for i in range(5)]})
    taken_at = change_log.stamp()
    assert change_log.erased_since(project["id"], taken_at) == set()  # not known: looked at
    queries = []
    query = ChangeModel.query
    monkeypatch.setattr(ChangeModel, "query", lambda *a, **k: queries.append(1) or query(*a, **k))
    assert change_log.erased_since(project["id"], taken_at) == set()
    assert queries == []
    api.delete("/profiles/p3")
    assert change_log.erased_since(project["id"], taken_at) == {"p3"}


def test_an_erasure_from_before_its_time_was_recorded_is_still_found(api, project):
    """GIVEN a profile erased with no erasure time on the project (an older version wrote its
    tombstone) WHEN a snapshot looks for the erased profiles THEN it finds it."""
    from chalicelib.storage.tables import ProjectModel

    api.post("/events", {"events": [purchase_event("p1", 0, value=5.0)]})
    taken_at = change_log.stamp()
    api.delete("/profiles/p1")
    ProjectModel(project["id"]).update(actions=[ProjectModel.erased_at.remove()])
    assert change_log.erased_since(project["id"], taken_at) == {"p1"}
