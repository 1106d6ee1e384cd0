"""The profiles stream read into plain records: project, profile, old and new documents."""

import json

import pytest

from chalicelib.storage.profile_stream import parse_stream_record
from chalicelib.storage.table_keys import profile_partition

PK0, PK2 = profile_partition("acme", 0), profile_partition("acme", 2)


class Record:
    def __init__(self, name, keys, new=None, old=None, seq="1"):
        self.sequence_number, self.event_name, self.keys = seq, name, keys
        self.new_image, self.old_image = new, old


def item(pk, profile_id, attributes, predictive=None, version=1):
    return {
        "pk": {"S": pk},
        "profile_id": {"S": profile_id},
        "project_id": {"S": "acme"},
        "attributes": {"S": json.dumps(attributes)},
        "behaviour": {"S": "{}"},
        "predictive": {"S": json.dumps(predictive or {})},
        "created_at": {"S": "2026-11-01T00:00:00Z"},
        "updated_at": {"S": "2026-11-02T00:00:00Z"},
        "version": {"N": str(version)},
    }


def test_a_modification_carries_both_documents():
    # GIVEN a stream record of a profile whose attributes changed
    keys = {"pk": {"S": PK2}, "profile_id": {"S": "p#1"}}
    record = Record(
        "MODIFY", keys, new=item(PK2, "p#1", {"x": 2}, version=2), old=item(PK2, "p#1", {"x": 1})
    )
    # WHEN it is parsed
    change = parse_stream_record(record)
    # THEN it names the project and profile, holds both documents, and needs scoring
    assert (change.project_id, change.profile_id, change.event_name) == ("acme", "p#1", "MODIFY")
    assert change.old["attributes"] == {"x": 1} and change.new["attributes"] == {"x": 2}
    assert change.new["created_at"] == "2026-11-01T00:00:00Z"
    assert change.needs_scoring


def test_a_score_write_and_a_removal_need_no_scoring():
    keys = {"pk": {"S": PK0}, "profile_id": {"S": "p1"}}
    scored = parse_stream_record(
        Record(
            "MODIFY", keys, new=item(PK0, "p1", {}, {"clv": 2}), old=item(PK0, "p1", {}, {"clv": 1})
        )
    )
    assert not scored.content_changed and not scored.needs_scoring
    removed = parse_stream_record(Record("REMOVE", keys, old=item(PK0, "p1", {})))
    assert removed.new is None and removed.old["profile_id"] == "p1"
    assert not removed.needs_scoring


def test_a_record_of_another_table_is_refused():
    with pytest.raises((KeyError, ValueError)):
        parse_stream_record(Record("INSERT", {"project_id": {"S": "acme"}}))
