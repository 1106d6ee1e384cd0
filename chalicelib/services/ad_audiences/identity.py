"""When who a member is changes: an erased profile, or a member's email or phone changed. The ad
platforms know members only by the hashes of those (identifiers.py), so the old hashes are
removed from each ad destination of each segment the profile is a non-control member of, and
the new ones added. The hashes go into the queued `SyncAudience` message (mode "keys"), worked
out before the profile's attributes are deleted or overwritten: the worker needs neither the
profile nor its old attributes."""

from __future__ import annotations

from ...storage import audience_members, segment_table, work_queue
from ...storage.work_messages import SyncAudience
from . import is_ad_type
from .identifiers import EMAIL_ATTRIBUTE, PHONE_ATTRIBUTE, google_keys, meta_keys

IDENTITY_ATTRIBUTES = (EMAIL_ATTRIBUTE, PHONE_ATTRIBUTE)


def keys_for(kind: str, attributes: dict | None):
    """The hashed row of a member with these attributes for a destination of type `kind`."""
    document = {"attributes": attributes or {}}
    return meta_keys(document) if kind == "meta_custom_audience" else google_keys(document)


def _destinations_of_member(project_id: str, profile_id: str) -> list[tuple[str, dict]]:
    """(segment_id, destination) for each ad destination of a segment the profile is a
    non-control member of (read by key: strongly consistent, unlike the by-profile index), or
    has left last: its exit may still be queued, and that exit, sent after the erasure or the
    change, would read no profile or the new identifiers (removing a row that is not in the
    audience is a no-op on both platforms)."""
    with_ads = {
        s.segment_id: [d for d in s.destinations or [] if is_ad_type(d.get("type"))]
        for s in segment_table.list_all(project_id)
    }
    with_ads = {sid: ds for sid, ds in with_ads.items() if ds}
    if not with_ads:
        return []
    control = audience_members.of_profile(project_id, profile_id, list(with_ads))
    members = {sid for sid, in_control in control.items() if not in_control}
    left = audience_members.left(project_id, profile_id, [s for s in with_ads if s not in control])
    return [(sid, d) for sid, ds in with_ads.items() if sid in members | left for d in ds]


def _messages(project_id: str, profile_id: str, before: dict | None, after: dict | None) -> list:
    """Removals of the hashes of `before` and additions of those of `after` (attributes; None:
    none), where they differ, to every ad destination the profile is a member of."""
    out = []
    for segment_id, destination in _destinations_of_member(project_id, profile_id):
        old, new = keys_for(destination["type"], before), keys_for(destination["type"], after)
        if old == new:
            continue
        changes = [{"profile_id": profile_id, "change": "exited", "keys": old}] if old else []
        if new:
            changes.append({"profile_id": profile_id, "change": "entered", "keys": new})
        if changes:
            out.append(
                SyncAudience(
                    project_id, segment_id, destination["destination_id"], "keys", tuple(changes)
                )
            )
    return out


def queue_erasure(project_id: str, profile: dict | None) -> int:
    """Before a profile is erased: queue the removal of its hashes from every ad destination
    of the segments it is a member of. `profile` is its document (None: already gone)."""
    if not profile or not any(
        (profile.get("attributes") or {}).get(a) for a in IDENTITY_ATTRIBUTES
    ):
        return 0
    messages = _messages(project_id, profile["profile_id"], profile["attributes"], None)
    if messages:
        work_queue.send(messages)
    return len(messages)


def queue_swaps(project_id: str, changes) -> int:
    """After profiles changed (the profiles stream's changes: any writer, the API, the source,
    an import): for each stored profile whose email or phone changed, the old hashes are
    swapped for the new ones. A member that had no usable email or phone was not sent when it
    entered: it is added now that it has one. A profile just created is a member of nothing
    yet, and an erasure queued its own removals (queue_erasure)."""
    messages = []
    for change in changes:
        if change.event_name != "MODIFY" or not change.old or not change.new:
            continue
        before, after = change.old.get("attributes") or {}, change.new.get("attributes") or {}
        if any(before.get(a) != after.get(a) for a in IDENTITY_ATTRIBUTES):
            messages += _messages(project_id, change.profile_id, before, after)
    if messages:
        work_queue.send(messages)
    return len(messages)
