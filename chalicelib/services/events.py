"""Event ingestion: validate each event, then store and aggregate per profile, exactly once."""

from __future__ import annotations

from collections import defaultdict
from functools import partial

from ..behaviour import apply_events, parse_event
from ..infra.errors import ServiceError, ValidationError
from ..storage import profile_batch, profile_table
from ..validation import expect_object
from .project_settings import event_settings

MAX_BATCH = 500


def ingest(project_id: str, body) -> dict:
    body = expect_object(body, "", {"events"}, {"events"})
    raw_events = body["events"]
    if not isinstance(raw_events, list) or not 1 <= len(raw_events) <= MAX_BATCH:
        raise ValidationError(
            f"events must be a list of 1 to {MAX_BATCH} items", "/events", "invalid_value"
        )
    errors, by_profile, seen, repeated = [], defaultdict(list), set(), 0
    for i, raw in enumerate(raw_events):
        try:
            event = parse_event(raw, f"/events/{i}")
        except ServiceError as exc:
            errors.append({"index": i, **exc.to_dict()})
            continue
        key = (event.profile_id, event.event_id)
        if key in seen:  # the same event twice in one batch counts once
            repeated += 1
            continue
        seen.add(key)
        by_profile[event.profile_id].append((i, event))
    accepted, duplicates = 0, repeated
    aggregate = partial(apply_events, settings=event_settings(project_id))  # zone, properties
    # a profile's events in one transaction go with other profiles' into few transactions; more
    # than one transaction's worth are written on their own (checked whole first)
    together = {
        pid: indexed
        for pid, indexed in by_profile.items()
        if len(indexed) <= profile_table.EVENTS_PER_TRANSACTION
    }
    outcomes = profile_batch.write_many(
        project_id,
        {pid: _count_in([e for _, e in indexed], aggregate) for pid, indexed in together.items()},
        too_large_path="/profile_id",
    )
    for profile_id, indexed in by_profile.items():
        events = [e for _, e in indexed]
        if profile_id in together:
            outcome = outcomes[profile_id]
            if outcome.error is not None:
                errors.extend({"index": i, **outcome.error.to_dict()} for i, _ in indexed)
                continue
            redelivered = outcome.duplicates
        else:
            try:
                redelivered = profile_table.add_events(project_id, profile_id, events, aggregate)
            except ServiceError as exc:
                errors.extend({"index": i, **exc.to_dict()} for i, _ in indexed)
                continue
        duplicates += len(redelivered)
        accepted += len(events) - len(redelivered)
    return {
        "accepted": accepted,
        "duplicates": duplicates,
        "rejected": len(errors),
        "errors": sorted(errors, key=lambda e: e["index"]),
    }


def _count_in(events: list, aggregate):
    """The change of one profile: its new events (not the redelivered ones) counted in by
    `aggregate` (behaviour.apply_events with the project's settings)."""

    def change(existing, exclude):
        fresh = [e for e in events if e.event_id not in exclude]
        if not fresh:
            return None
        stored = existing.attributes if existing else {}
        behaviour = existing.behaviour if existing else None
        return stored, aggregate(behaviour, fresh), fresh

    return change
