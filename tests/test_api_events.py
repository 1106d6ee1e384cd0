"""Events over HTTP: aggregation into behaviour, idempotent redelivery, partial failures."""


def purchase(i, profile="u1", value=10.0, ts="2026-02-01T10:00:00Z"):
    return {
        "event_id": f"o{i}",
        "profile_id": profile,
        "type": "purchase",
        "timestamp": ts,
        "value": value,
    }


def test_events_create_unknown_profiles_and_build_behaviour(api):
    status, body = api.post(
        "/events",
        {
            "events": [
                {
                    "event_id": "s1",
                    "profile_id": "u1",
                    "type": "session_start",
                    "timestamp": "2026-02-01T09:00:00Z",
                },
                {
                    "event_id": "v1",
                    "profile_id": "u1",
                    "type": "product_view",
                    "timestamp": "2026-02-01T09:01:00Z",
                    "properties": {"product_id": "p9"},
                },
                purchase(1),
                purchase(2, value=5.5, ts="2026-02-03T10:00:00Z"),
            ]
        },
    )
    assert status == 200 and body == {"accepted": 4, "duplicates": 0, "rejected": 0, "errors": []}
    behaviour = api.get("/profiles/u1")[1]["behaviour"]
    assert behaviour["sessions"] == 1 and behaviour["product_views"] == 1
    assert behaviour["orders"] == 2 and behaviour["revenue"] == 15.5
    assert behaviour["first_seen"] == "2026-02-01T09:00:00Z"
    assert behaviour["last_order_at"] == "2026-02-03T10:00:00Z"
    assert behaviour["purchases"] == {"2026-02-01": [1, 10.0], "2026-02-03": [1, 5.5]}


def test_redelivery_changes_nothing(api):
    batch = {"events": [purchase(1), purchase(2), purchase(3, profile="u2")]}
    api.post("/events", batch)
    first = {p: api.get(f"/profiles/{p}")[1] for p in ("u1", "u2")}
    status, body = api.post("/events", batch)
    assert status == 200 and (body["accepted"], body["duplicates"]) == (0, 3)
    # partly new: only the new event counts
    status, body = api.post("/events", {"events": [purchase(2), purchase(4)]})
    assert (body["accepted"], body["duplicates"]) == (1, 1)
    again = api.get("/profiles/u1")[1]
    assert again["behaviour"]["orders"] == first["u1"]["behaviour"]["orders"] + 1
    assert api.get("/profiles/u2")[1] == first["u2"]


def test_the_same_event_twice_in_one_batch_counts_once(api):
    status, body = api.post("/events", {"events": [purchase(1), purchase(1)]})
    assert (body["accepted"], body["duplicates"]) == (1, 1)
    assert api.get("/profiles/u1")[1]["behaviour"]["orders"] == 1


def test_a_bad_event_does_not_sink_the_batch(api):
    status, body = api.post(
        "/events",
        {
            "events": [
                purchase(1),
                {
                    "event_id": "x",
                    "profile_id": "u1",
                    "type": "purchase",
                    "timestamp": "2026-02-01T10:00:00Z",
                },
                purchase(2, value="12"),
            ]
        },
    )
    assert status == 200 and body["accepted"] == 1 and body["rejected"] == 2
    assert [e["error"]["path"] for e in body["errors"]] == ["/events/1/value", "/events/2/value"]


def test_batch_shape_and_size(api):
    for bad, path in [
        ({"events": []}, "/events"),
        ({"events": {}}, "/events"),
        ({}, "/events"),
        ({"events": [purchase(i) for i in range(501)]}, "/events"),
        ({"events": [], "extra": 1}, "/extra"),
    ]:
        status, body = api.post("/events", bad)
        assert status == 400 and body["error"]["path"] == path, bad


def test_many_events_of_one_profile_span_several_transactions(api):
    events = [purchase(i, value=1.0) for i in range(250)]
    status, body = api.post("/events", {"events": events})
    assert body["accepted"] == 250
    assert api.get("/profiles/u1")[1]["behaviour"]["orders"] == 250
