"""GET .../changes?since= with a year before 1000: the moment compares with the stored change
ids as text, so it must be padded to four digits like them."""

import pytest

from chalicelib.services.memberships import _parse_since

SEGMENT = {
    "name": "big spenders",
    "match": "all",
    "rules": [{"field": "behaviour.revenue", "operator": "gte", "value": 50}],
}


@pytest.mark.parametrize(
    "since, moment",
    [
        ("0999-12-31T00:00:00Z", "0999-12-31T00:00:00.000000Z"),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000000Z"),
        ("2026-11-28T10:00:00+01:00", "2026-11-28T09:00:00.000000Z"),
    ],
)
def test_since_is_written_with_a_four_digit_year(since, moment):
    assert _parse_since(since) == moment


def test_changes_since_a_year_before_1000_lists_every_change(api, drain):
    """GIVEN a segment that three profiles entered WHEN its changes since 0999-12-31 are listed
    THEN all three are there (the unpadded '999-...' sorted after every stored change)."""
    api.post(
        "/events",
        {
            "events": [
                {
                    "event_id": f"e{i}",
                    "profile_id": f"p{i}",
                    "type": "purchase",
                    "timestamp": "2026-11-01T10:00:00Z",
                    "value": 60,
                }
                for i in range(3)
            ]
        },
    )
    sid = api.post("/segments", SEGMENT)[1]["segment_id"]
    drain()
    for since in ("0999-12-31T00:00:00Z", "2000-01-01T00:00:00Z"):
        status, body = api.get(f"/segments/{sid}/changes?since={since}")
        assert status == 200
        assert sorted(c["profile_id"] for c in body["changes"]) == ["p0", "p1", "p2"], since
