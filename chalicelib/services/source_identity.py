"""Who an anonymous visitor is, as the Segment source learns it.

A message with only an `anonymousId` goes to the profile `anon:<anonymousId>`, until a message
carries that anonymousId together with a `userId` (an identify after login, or any later message
of analytics.js, which sends both). Then, once:
1. the link anonymousId -> userId is stored (the first userId wins), so from now on messages with
   only that anonymousId go to the user's profile;
2. the anonymous profile's events are sent again under the user's profile with their own event
   ids (a retry after a crash counts none twice), and its attributes are copied where the user's
   profile has none of that name;
3. the anonymous profile is erased, and the link marked merged.
A crash between the steps is finished by the next message that carries both ids. Known limit: a
message of the anonymous id that is being written while another request merges it can recreate
the anonymous profile after the merge; its events then stay there.
"""

from __future__ import annotations

from ..infra.errors import NotFound
from ..storage import event_history, profile_table, source_keys
from . import events, profiles

ANONYMOUS_PREFIX = "anon:"


def resolve(project_id: str, ids: list[tuple[str | None, str | None]]) -> dict[str, str]:
    """anonymous id -> user id for every anonymous id of the (user id, anonymous id) pairs that
    belongs to a user, linking and merging the pairs seen together for the first time."""
    anonymous = [anon for _, anon in ids if anon is not None]
    if not anonymous:
        return {}
    known = source_keys.links(project_id, anonymous)
    for user_id, anon in dict.fromkeys(ids):
        if user_id is None or anon is None:
            continue
        if anon not in known:
            source_keys.link(project_id, anon, user_id)
            known.update(source_keys.links(project_id, [anon]))  # the first user id wins
        target, merged = known[anon]
        if not merged:
            merge(project_id, anon, target)
            known[anon] = (target, True)
    return {anon: user for anon, (user, _) in known.items()}


def merge(project_id: str, anonymous_id: str, user_id: str) -> None:
    """The anonymous profile's events and missing attributes into the user's profile; then the
    anonymous profile erased and the link marked merged."""
    anonymous_profile = ANONYMOUS_PREFIX + anonymous_id
    stored = profile_table.get(project_id, anonymous_profile)
    if stored is not None:
        history = event_history.stored_events(project_id, anonymous_profile)
        for start in range(0, len(history), events.MAX_BATCH):
            chunk = [
                {**event, "profile_id": user_id}
                for event in history[start : start + events.MAX_BATCH]
            ]
            result = events.ingest(project_id, {"events": chunk})
            if result["errors"]:  # stored events passed these checks once; keep them if not
                return
        if stored.attributes:
            user = profile_table.get(project_id, user_id)
            have = user.attributes if user else {}
            missing = {k: v for k, v in stored.attributes.items() if k not in have}
            if missing:
                profiles.upsert(project_id, user_id, {"attributes": missing})
        try:
            profiles.delete(project_id, anonymous_profile)
        except NotFound:
            pass
    source_keys.mark_merged(project_id, anonymous_id)
