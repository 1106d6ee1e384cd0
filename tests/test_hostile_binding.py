"""Every entry point binds the storage models to the configured tables and endpoint before its
code runs (an unbound model queries AWS's public endpoint with an unprefixed table name): the
event handlers through the app's middleware, the CLI in its dispatcher (tests/test_cli.py)."""

import pytest

from chalicelib.api import audience_triggers, triggers
from chalicelib.infra import config
from chalicelib.storage import connection

# the code each event handler hands its work to
HANDLED_BY = {
    "refresh_ad_audiences": (audience_triggers.worker, "queue_refreshes"),
    "rescore_all_projects": (triggers.scoring_jobs, "rescore_all"),
    "run_work": (triggers, "handle_work"),
    "score_changed_profiles": (triggers, "handle_profile_changes"),
}


def events(client):
    return {
        "refresh_ad_audiences": client.events.generate_cw_event(
            source="aws.events",
            detail_type="Scheduled Event",
            detail={},
            resources=["arn:aws:events:us-east-1:123456789012:rule/refresh"],
        ),
        "rescore_all_projects": client.events.generate_cw_event(
            source="aws.events",
            detail_type="Scheduled Event",
            detail={},
            resources=["arn:aws:events:us-east-1:123456789012:rule/rescore"],
        ),
        "run_work": client.events.generate_sqs_event(
            message_bodies=['{"kind": "noop"}'], queue_name="segments-dev-work"
        ),
        "score_changed_profiles": {"Records": []},
    }


def test_every_event_handler_is_covered():
    from app import app

    assert {source.name for source in app.event_sources} == set(HANDLED_BY)


@pytest.mark.parametrize("name", sorted(HANDLED_BY))
def test_an_event_handler_finds_the_models_bound(client, monkeypatch, name):
    """GIVEN a fresh process (nothing bound yet) WHEN an event handler is invoked THEN the models
    are bound to the current settings by the time its code runs, whatever its first call."""
    seen = []
    module, function = HANDLED_BY[name]
    monkeypatch.setattr(module, function, lambda *a, **k: seen.append(connection._bound_to) or [])
    monkeypatch.setattr(connection, "_bound_to", None)
    client.lambda_.invoke(name, events(client)[name])
    assert seen == [config.settings()]
