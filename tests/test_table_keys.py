"""The one module that builds and parses table keys: every key reads back as what built it."""

import pytest

from chalicelib.storage import table_keys as keys
from chalicelib.validation import ID_RE, PROJECT_RE

PROJECTS = ["acme", "a1", "shop-nl-2"]
# ids as validation allows them (letters, digits, _ . : @ + -), and beyond: '#' and non-ASCII in
# the last part of a key must survive too, should validation ever let them through
IDS = ["p1", "u.ser:42@x+y-z_", "A" * 128, "with#hash", "#leading", "trailing#", "ünï©ødé", "a##b"]


@pytest.mark.parametrize("project_id", PROJECTS)
@pytest.mark.parametrize("item_id", IDS)
def test_every_key_reads_back_as_what_built_it(project_id, item_id):
    # GIVEN a valid project id and an id  WHEN each key is built and parsed  THEN the parts return
    assert PROJECT_RE.match(project_id)
    assert keys.parse_profile_ref(keys.profile_ref(project_id, item_id)) == (project_id, item_id)
    assert keys.parse_segment_ref(keys.segment_ref(project_id, item_id)) == (project_id, item_id)
    at = "2026-11-28T10:00:00.123456Z"
    assert keys.parse_change_id(keys.change_id(at, item_id)) == (at, item_id)
    for shards in (1, 4, 16):
        shard = keys.shard_of(item_id, shards)
        assert 0 <= shard < shards
        pk = keys.profile_partition_of(project_id, item_id, shards)
        assert pk == keys.profile_partition(project_id, shard)
        assert keys.parse_profile_partition(pk) == (project_id, shard)


def test_the_key_formats_are_the_stored_ones():
    # GIVEN data already stored  THEN today's keys are built the same way (a change would orphan it)
    assert keys.profile_partition("acme", 3) == "acme#003"
    assert keys.shard_of("p1", 16) == 3  # crc32: stable across processes, unlike hash()
    assert keys.profile_ref("acme", "p1") == "acme#p1"
    assert keys.segment_ref("acme", "seg_1") == "acme#seg_1"
    assert keys.change_id("2026-11-28T10:00:00.000000Z", "p1") == "2026-11-28T10:00:00.000000Z#p1"
    assert keys.profile_walk_start("acme", 2, "p9") == {
        "pk": {"S": "acme#002"},
        "profile_id": {"S": "p9"},
    }


def test_change_ids_sort_by_time_whatever_the_profile_id():
    # GIVEN entries of one second  THEN their sort keys order by time first
    ids = [
        keys.change_id(f"2026-11-28T10:00:00.00000{i}Z", pid)
        for i, pid in enumerate(["z", "a#b", "m"])
    ]
    assert sorted(ids) == ids


def test_a_first_part_holding_the_separator_is_refused():
    # GIVEN a project id validation would refuse  WHEN a key is built  THEN it fails loudly
    assert not PROJECT_RE.match("ac#me") and not ID_RE.match("p#1")
    with pytest.raises(ValueError):
        keys.profile_ref("ac#me", "p1")
    with pytest.raises(ValueError):
        keys.parse_segment_ref("no-separator")
