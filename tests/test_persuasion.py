"""Persuasion profiles: the exposure protocol (late responses), the posterior and Thompson
sampling, and GET /profiles/{id}/persuasion."""

import numpy as np
import pytest

from chalicelib.behaviour import apply_events, parse_event
from chalicelib.infra.errors import ValidationError
from chalicelib.predict import persuasion
from chalicelib.predict.fields import PERSUASION_TYPES


def persuasion_event(event_id, ts="2026-03-01T10:00:00Z", **persuasion_props):
    return {
        "event_id": event_id,
        "profile_id": "p1",
        "type": "persuasion",
        "timestamp": ts,
        "properties": {"persuasion": persuasion_props},
    }


def test_a_late_response_names_its_exposure_and_adds_no_exposure():
    # GIVEN two exposures sent without a response, and later a response to the first
    exposures = [
        persuasion_event("x1", principle="Scarcity", responded=False),
        persuasion_event("x2", principle="Scarcity"),
    ]
    late = persuasion_event("x1:response", "2026-03-02T10:00:00Z", principle="Scarcity")
    late["properties"]["persuasion"]["response_to"] = "x1"
    events = [parse_event(e, "/events/0") for e in exposures + [late]]
    # THEN two exposures, one response, in whatever order they arrive
    assert apply_events(None, events)["persuasion"] == {"Scarcity": [2, 1]}
    assert apply_events(None, events[::-1])["persuasion"] == {"Scarcity": [2, 1]}


def test_a_response_before_its_exposure_is_capped_at_the_exposures():
    # GIVEN a late response that arrives before its exposure is counted
    late = persuasion_event("x1:response", principle="Liking", response_to="x1")
    behaviour = apply_events(None, [parse_event(late, "/events/0")])
    assert behaviour["persuasion"] == {"Liking": [0, 1]}
    # THEN the posterior counts no response without an exposure
    shown, responded = persuasion.counts([behaviour])
    assert shown[0, PERSUASION_TYPES.index("Liking")] == 0
    assert responded.sum() == 0


def test_a_bad_response_to_is_refused_with_its_path():
    with pytest.raises(ValidationError) as error:
        parse_event(persuasion_event("r", principle="Liking", response_to="not an id!"), "/e/0")
    assert error.value.path == "/e/0/properties/persuasion/response_to"


def test_the_summary_gives_posteriors_and_a_seeded_thompson_draw():
    prior = np.full(6, 0.1)
    shown = np.array([20, 2, 0, 0, 0, 0], float)
    responded = np.array([9, 0, 0, 0, 0, 0], float)
    out = persuasion.summary(shown, responded, prior, np.random.default_rng(3))
    first = out["principles"][0]
    # THEN each principle's posterior: Beta(1 + 9, 9 + 11) has mean 1/3 and a 90 % interval
    assert first["principle"] == PERSUASION_TYPES[0] and first["exposures"] == 20
    assert first["mean"] == pytest.approx(10 / 30, abs=1e-4)
    assert first["interval_90"][0] < first["mean"] < first["interval_90"][1]
    untouched = out["principles"][3]
    assert untouched["mean"] == pytest.approx(0.1) and untouched["exposures"] == 0
    # AND the same seed draws the same next principle
    again = persuasion.summary(shown, responded, prior, np.random.default_rng(3))
    assert again["next"] == out["next"]
    # AND the draw favours the principle that works, yet explores the others
    nexts = [
        persuasion.summary(shown, responded, prior, np.random.default_rng(s))["next"]
        for s in range(300)
    ]
    share = nexts.count(PERSUASION_TYPES[0]) / len(nexts)
    assert 0.6 < share < 1.0
    assert out["persuasion_type"] == PERSUASION_TYPES[0]


def test_the_route_gives_the_profile_s_persuasion_profile(api):
    # GIVEN a profile shown Scarcity 6 times (4 responses, one of them late) and Liking twice
    events = [
        persuasion_event(f"s{i}", principle="Scarcity", responded=i < 3) for i in range(6)
    ] + [persuasion_event(f"l{i}", principle="Liking", responded=False) for i in range(2)]
    events.append(persuasion_event("s5:response", principle="Scarcity", response_to="s5"))
    status, body = api.post("/events", {"events": events})
    assert status == 200 and body["accepted"] == 9
    # WHEN its persuasion profile is read with a seed
    status, body = api.get("/profiles/p1/persuasion?seed=7")
    # THEN every principle has its posterior, and the next principle is reproducible
    assert status == 200
    by_name = {p["principle"]: p for p in body["principles"]}
    assert list(by_name) == list(PERSUASION_TYPES)
    assert (by_name["Scarcity"]["exposures"], by_name["Scarcity"]["responses"]) == (6, 4)
    assert (by_name["Liking"]["exposures"], by_name["Liking"]["responses"]) == (2, 0)
    assert body["next"] in PERSUASION_TYPES
    assert api.get("/profiles/p1/persuasion?seed=7")[1]["next"] == body["next"]
    # AND bad input is a 400 naming the parameter; an unknown profile a 404
    status, body = api.get("/profiles/p1/persuasion?seed=-1")
    assert status == 400 and body["error"]["path"] == "/seed"
    assert api.get("/profiles/nobody/persuasion")[0] == 404
