"""Profiles: upsert, batch upsert, read, page, erase."""

from __future__ import annotations

from ..infra import cursor
from ..infra.errors import NotFound, ServiceError, ValidationError
from ..profile_documents import merge_attributes
from ..storage import profile_batch, profile_table
from ..storage.connection import bind
from ..validation import check_attributes, check_id, expect_object
from .ad_audiences import identity

MAX_BATCH = 500


def _attributes_body(body, path: str) -> dict:
    body = expect_object(body, path, {"attributes", "profile_id", "predictive"}, {"attributes"})
    if "predictive" in body:
        raise ValidationError(
            "predictive fields are computed by the service, not set by clients",
            f"{path}/predictive",
            "read_only",
        )
    return check_attributes(body["attributes"], f"{path}/attributes")


def upsert(project_id: str, profile_id: str, body) -> tuple[dict, bool]:
    check_id(profile_id, "/profile_id", "profile_id")
    attributes = _attributes_body(body, "")
    if "profile_id" in body and body["profile_id"] != profile_id:
        raise ValidationError(
            "profile_id in the body differs from the URL", "/profile_id", "invalid_value"
        )
    # an email or phone change swaps ad audience hashes: the profiles stream's trigger sees it
    profile, created = profile_table.upsert_attributes(
        project_id, profile_id, attributes, merge_attributes
    )
    return profile.document(), created


def batch_upsert(project_id: str, body) -> dict:
    body = expect_object(body, "", {"profiles"}, {"profiles"})
    items = body["profiles"]
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
        raise ValidationError(
            f"profiles must be a list of 1 to {MAX_BATCH} items", "/profiles", "invalid_value"
        )
    results: list[dict | None] = [None] * len(items)
    checked: list[tuple[int, str, dict]] = []
    for i, item in enumerate(items):
        path = f"/profiles/{i}"
        try:
            expect_object(
                item, path, {"profile_id", "attributes", "predictive"}, {"profile_id", "attributes"}
            )
            profile_id = check_id(item["profile_id"], f"{path}/profile_id", "profile_id")
            checked.append((i, profile_id, _attributes_body(item, path)))
        except ServiceError as exc:  # a bad item does not sink the rest
            results[i] = _error(i, item, exc)
    # a profile sent more than once: its items apply in order, one write round each
    rounds: list[dict[str, tuple[int, dict]]] = []
    for i, profile_id, attributes in checked:
        n = next((r for r in rounds if profile_id not in r), None)
        if n is None:
            rounds.append(n := {})
        n[profile_id] = (i, attributes)
    for round_ in rounds:
        outcomes = profile_batch.write_many(
            project_id, {pid: _merge_into(attrs) for pid, (_, attrs) in round_.items()}
        )
        for profile_id, (i, _) in round_.items():
            outcome = outcomes[profile_id]
            if outcome.error is not None:
                results[i] = _error(i, items[i], outcome.error)
            else:
                status = "created" if outcome.created else "updated"
                results[i] = {"index": i, "profile_id": profile_id, "status": status}
    failed = sum(r["status"] == "error" for r in results)
    return {"results": results, "succeeded": len(results) - failed, "failed": failed}


def _merge_into(update: dict, merge=merge_attributes):
    """The change of one profile: `update` merged into its stored attributes by `merge`."""

    def change(existing, exclude):
        stored = existing.attributes if existing else {}
        behaviour = existing.behaviour if existing else {}
        return merge(stored, update), behaviour, []

    return change


def _error(i: int, item, exc: ServiceError) -> dict:
    profile_id = item.get("profile_id") if isinstance(item, dict) else None
    return {
        "index": i,
        "profile_id": profile_id if isinstance(profile_id, str) else None,
        "status": "error",
        **exc.to_dict(),
    }


def get(project_id: str, profile_id: str) -> dict:
    check_id(profile_id, "/profile_id", "profile_id")
    profile = profile_table.get(project_id, profile_id)
    if profile is None:
        raise NotFound(f"profile {profile_id!r} not found", "/profile_id")
    return profile.document()


def list_page(project_id: str, limit: int, cursor_text: str | None) -> dict:
    secret = bind().cursor_secret
    scope = f"{project_id}:profiles"
    position = cursor.decode(cursor_text, scope, secret)
    after = _position(position)
    page, next_position, last = [], None, None
    for position, profile in profile_table.iter_profiles(
        project_id, after, page_size=min(limit + 1, 500)
    ):
        if len(page) == limit:
            next_position = last
            break
        page.append(profile.document())
        last = position
    out = {"profiles": page}
    if next_position is not None:
        out["next_cursor"] = cursor.encode(list(next_position), scope, secret)
    return out


def _position(position: list | None):
    if position is None:
        return None
    if len(position) != 2 or not isinstance(position[0], int) or not isinstance(position[1], str):
        raise ValidationError("cursor is invalid", "/cursor", "invalid_cursor")
    if not 0 <= position[0] < bind().profile_shards:
        raise ValidationError("cursor is invalid", "/cursor", "invalid_cursor")
    return position[0], position[1]


def delete(project_id: str, profile_id: str) -> None:
    check_id(profile_id, "/profile_id", "profile_id")
    from ..storage import change_log, membership_table, segment_table, work_queue
    from ..storage.work_messages import EraseFromSnapshot

    # its hashes leave the ad platforms: worked out now, while its attributes are still there
    existing = profile_table.get(project_id, profile_id)
    identity.queue_erasure(project_id, existing.document() if existing else None)
    found = profile_table.delete(project_id, profile_id)
    # after the profile is gone, so no evaluation can add it back; also when it was already gone,
    # to finish an erasure that was interrupted
    membership_table.erase_profile(
        project_id, profile_id, [s.segment_id for s in segment_table.list_all(project_id)]
    )
    change_log.erase(project_id, profile_id)
    from ..storage import source_keys

    source_keys.erase_links(project_id, profile_id)  # the sources' ids that led to it
    # stored exports of the project may list it: they are regenerable, so they all go
    from ..storage import export_store

    export_store.erase_stored_exports(project_id)
    # its rows in the snapshot: rewritten in the background (the tombstone hides them meanwhile)
    work_queue.send([EraseFromSnapshot(project_id, profile_id)])
    if not found:
        raise NotFound(f"profile {profile_id!r} not found", "/profile_id")
