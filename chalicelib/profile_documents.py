"""Profile documents: merging attribute updates, and the kind counts the catalogue types by. Pure."""

from __future__ import annotations

import json
from collections import defaultdict

from .validation import attribute_kind

MAX_STORED_ATTRIBUTES = 64  # keeps a profile write + its kind counts inside one transaction


def merge_attributes(stored: dict, update: dict) -> dict:
    """`update` merged into `stored`; a None value removes the attribute."""
    merged = dict(stored)
    for name, value in update.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


def kind_deltas(before: dict, after: dict) -> dict[str, dict[str, int]]:
    """Per attribute name, how the count of stored values of each kind changes."""
    deltas: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for name in set(before) | set(after):
        old = attribute_kind(before[name]) if name in before else None
        new = attribute_kind(after[name]) if name in after else None
        if old == new:
            continue
        if old:
            deltas[name][old] -= 1
        if new:
            deltas[name][new] += 1
    return {name: dict(d) for name, d in deltas.items()}


def stored_bytes(attributes: dict, behaviour: dict, predictive: dict) -> int:
    """What a profile's documents take in its stored item: each is kept as JSON text, ASCII-escaped
    (so never fewer bytes than its UTF-8). Keys and attribute names add a few hundred more."""
    return len(json.dumps(attributes)) + len(json.dumps(behaviour)) + len(json.dumps(predictive))


def profile_document(
    profile_id: str,
    attributes: dict,
    behaviour: dict,
    predictive: dict,
    created_at: str,
    updated_at: str,
) -> dict:
    return {
        "profile_id": profile_id,
        "attributes": attributes,
        "behaviour": behaviour,
        "predictive": predictive,
        "created_at": created_at,
        "updated_at": updated_at,
    }


# Parts of a profile no segment rule reads: the day-by-day history the models read, and the
# explanations of the predictive fields. Change-log entries leave them out to stay small.
# `behaviour.events`, the day counts event conditions read (rules/event_keys.py), stays in: the
# snapshot and its change-log overlay answer those rules from it.
HISTORY_KEYS = ("purchases", "activity", "persuasion")


def segmentable_document(document: dict) -> dict:
    """The profile document without what segment rules never read."""
    behaviour = {k: v for k, v in document["behaviour"].items() if k not in HISTORY_KEYS}
    predictive = {k: v for k, v in document["predictive"].items() if k != "explanations"}
    return {**document, "behaviour": behaviour, "predictive": predictive}
