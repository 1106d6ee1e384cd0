"""A Segment-compatible source: the messages of Segment's HTTP tracking API (identify, track,
page, screen; alone or in a batch) turned into our profiles and events.

- Profile ids: `userId` when the message has one; else the user an earlier message linked the
  `anonymousId` to; else `anon:<anonymousId>` (services.source_identity merges it into the user's
  profile when a message carries both ids).
- identify: `traits` become attributes (those that fit the attribute rules; the others are
  reported in `warnings`, per message). track, page, screen: events (EVENT_NAMES; other track
  names are `custom` events with the name in `properties.name`). group and alias: reported as
  unsupported.
- `messageId` is the event id (hashed when it does not fit our ids; derived from the message's
  content when absent), so a redelivered message counts once.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import datetime, timezone

from ..behaviour import MAX_PROPERTIES_BYTES
from ..infra.errors import PayloadTooLarge, ServiceError, ValidationError
from ..profile_documents import merge_attributes
from ..storage import event_history, profile_table
from ..validation import (
    ATTRIBUTE_RE,
    ID_RE,
    check_attribute_value,
    check_id,
    iso,
)
from . import events, profiles, source_identity
from .source_identity import ANONYMOUS_PREFIX

MAX_MESSAGE_BYTES = 32 * 1024  # Segment's limits: 32 KB a message, 500 KB a batch
MAX_BATCH_BYTES = 500 * 1024
# Segment's E-commerce spec (v2) events and the types they become; page and screen: page_view
EVENT_NAMES = {
    "Product Viewed": "product_view",
    "Product Added": "add_to_cart",
    "Product Removed": "remove_from_cart",
    "Checkout Started": "checkout",
    "Order Completed": "purchase",
    "Products Searched": "search",
}
PAGE_TYPES = {"page": "page_view", "screen": "page_view"}
MESSAGE_TYPES = ("identify", "track", "page", "screen")
# properties with a meaning of their own in our events (behaviour.py): Segment's `discount` is an
# amount, ours a flag, so theirs is kept under another name
RENAMED_PROPERTIES = {"discount": "discount_amount", "persuasion": "segment_persuasion"}


def message_size(message) -> int:
    return len(json.dumps(message, separators=(",", ":")).encode("utf-8"))


def check_body_size(raw: bytes, single: bool) -> None:
    limit = MAX_MESSAGE_BYTES if single else MAX_BATCH_BYTES
    if len(raw) > limit:
        raise PayloadTooLarge(
            f"a {'message' if single else 'batch'} takes at most {limit} bytes", "/"
        )


def _text_id(value) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) else None


def event_id_of(message: dict) -> str:
    """The message's id as our event id: itself when it fits our ids, else a hash of it; without
    a messageId, a hash of the message's content (the same message sent again, the same id)."""
    message_id = message.get("messageId")
    if isinstance(message_id, str) and ID_RE.match(message_id):
        return message_id
    if isinstance(message_id, str) and message_id:
        seed = message_id
    else:
        content = {k: v for k, v in message.items() if k not in ("sentAt", "receivedAt")}
        seed = json.dumps(content, sort_keys=True, default=str)
    return "msg-" + hashlib.sha256(seed.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def _timestamp(message: dict, path: str, now: datetime) -> str:
    for name in ("timestamp", "originalTimestamp"):
        if message.get(name) is not None:
            if not isinstance(message[name], str):
                raise ValidationError(
                    "expected an ISO-8601 date-time", f"{path}/{name}", "invalid_timestamp"
                )
            return message[name]
    return iso(now)


def _properties(raw, path: str, dropped: dict) -> dict:
    """The scalar properties our events keep (strings, numbers, booleans); nested ones (Segment's
    `products` list, ...) are reported in `dropped`."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValidationError("properties must be an object", f"{path}/properties", "invalid_type")
    out = {}
    for key, value in raw.items():
        name = RENAMED_PROPERTIES.get(key, key)
        if isinstance(value, (str, int, float, bool)) and 0 < len(name) <= 64:
            out[name] = value
        elif value is not None:
            dropped[f"properties/{key[:64]}"] = "only text, number and boolean properties are kept"
    while out and len(json.dumps(out)) > MAX_PROPERTIES_BYTES:
        key = max(out, key=lambda k: len(json.dumps(out[k])))  # the largest goes first
        dropped[f"properties/{key[:64]}"] = f"properties keep at most {MAX_PROPERTIES_BYTES} bytes"
        del out[key]
    return out


def _order_value(properties: dict, path: str) -> float:
    for name in ("revenue", "total"):
        value = properties.get(name)
        if value is not None:
            if isinstance(value, str):  # some trackers send amounts as text
                try:
                    value = float(value)
                except ValueError:
                    pass
            return value
    raise ValidationError(
        "an Order Completed event needs properties.revenue or properties.total",
        f"{path}/properties/revenue",
        "missing",
    )


def to_event(message: dict, kind: str, profile_id: str, path: str, now, dropped: dict) -> dict:
    """A track, page or screen message as one of our raw events (validated by events.ingest)."""
    properties = _properties(message.get("properties"), path, dropped)
    if kind == "track":
        name = message.get("event")
        if not isinstance(name, str) or not name.strip():
            raise ValidationError("a track message needs an event name", f"{path}/event", "missing")
        event_type = EVENT_NAMES.get(name, "custom")
        if event_type == "custom":
            properties["name"] = name[:200]
    else:
        event_type = PAGE_TYPES[kind]
        if isinstance(message.get("name"), str):
            properties.setdefault("name", message["name"][:200])
    event = {
        "event_id": event_id_of(message),
        "profile_id": profile_id,
        "type": event_type,
        "timestamp": _timestamp(message, path, now),
    }
    if event_type == "purchase":
        event["value"] = _order_value(properties, path)
    if properties:
        event["properties"] = properties
    return event


def traits_to_attributes(traits, path: str, dropped: dict) -> dict:
    """The traits that fit the attribute rules; the others named in `dropped` with the reason."""
    if traits is None:
        return {}
    if not isinstance(traits, dict):
        raise ValidationError("traits must be an object", f"{path}/traits", "invalid_type")
    out = {}
    for name, value in traits.items():
        if not isinstance(name, str) or not ATTRIBUTE_RE.match(name):
            dropped[f"traits/{str(name)[:64]}"] = (
                "attribute names are 1-64 letters, digits and _, starting with a letter"
            )
            continue
        try:
            out[name] = check_attribute_value(value, f"{path}/traits/{name}")
        except ValidationError as exc:
            dropped[f"traits/{name}"] = exc.message
    return out


def _traits(message: dict, path: str):
    """An identify's traits: `traits`, over `context.traits` (where RudderStack's client puts
    them; Segment's spec allows both)."""
    context = message.get("context")
    nested = context.get("traits") if isinstance(context, dict) else None
    if isinstance(nested, dict) and isinstance(message.get("traits", {}), dict):
        return {**nested, **(message.get("traits") or {})}
    return message.get("traits")


def _ids(message: dict, path: str) -> tuple[str | None, str | None]:
    user_id, anonymous_id = _text_id(message.get("userId")), _text_id(message.get("anonymousId"))
    if user_id is None and anonymous_id is None:
        raise ValidationError(
            "a message needs a userId or an anonymousId", f"{path}/userId", "missing"
        )
    if user_id is not None:
        check_id(user_id, f"{path}/userId", "userId")
    if anonymous_id is not None:
        check_id(ANONYMOUS_PREFIX + anonymous_id, f"{path}/anonymousId", "anonymousId")
    return user_id, anonymous_id


def receive(project_id: str, body, kind: str | None = None) -> dict:
    """One message (`kind` given: the route's type) or a batch (`{"batch": [...]}`)."""
    now = datetime.now(timezone.utc)
    if kind is not None:
        messages, base = [{**body, "type": kind} if isinstance(body, dict) else body], ""
    else:
        if not isinstance(body, dict) or "batch" not in body:
            raise ValidationError("expected an object with a batch list", "/batch", "missing")
        messages, base = body["batch"], "/batch"
        if not isinstance(messages, list) or not messages:
            raise ValidationError("batch must be a non-empty list", "/batch", "invalid_value")
    errors, warnings, parsed = {}, {}, []
    for i, message in enumerate(messages):
        path = _path(base, i, kind)
        try:
            if not isinstance(message, dict):
                raise ValidationError("a message must be an object", path or "/", "invalid_type")
            if message_size(message) > MAX_MESSAGE_BYTES:
                raise PayloadTooLarge(f"a message takes at most {MAX_MESSAGE_BYTES} bytes", path)
            message_kind = message.get("type")
            if message_kind not in MESSAGE_TYPES:
                raise ValidationError(
                    f"type must be one of {list(MESSAGE_TYPES)} (group and alias are not "
                    "supported)",
                    f"{path}/type",
                    "unsupported",
                )
            parsed.append((i, message, message_kind, *_ids(message, path)))
        except ServiceError as exc:
            errors[i] = exc
    user_of = source_identity.resolve(project_id, [(user, anon) for _, _, _, user, anon in parsed])
    raw_events, event_index, traits_by_profile = [], [], defaultdict(list)
    for i, message, message_kind, user_id, anonymous_id in parsed:
        path = _path(base, i, kind)
        profile_id = user_id or user_of.get(anonymous_id) or ANONYMOUS_PREFIX + anonymous_id
        dropped: dict = {}
        try:
            if message_kind == "identify":
                attributes = traits_to_attributes(_traits(message, path), path, dropped)
                traits_by_profile[profile_id].append((i, attributes))
            else:
                raw_events.append(to_event(message, message_kind, profile_id, path, now, dropped))
                event_index.append(i)
        except ServiceError as exc:
            errors[i] = exc
        if dropped:
            warnings[i] = dropped
    # a redelivery's events already stored are skipped with one batch read, not a failed write
    stored = event_history.stored_event_ids(
        project_id, [(e["profile_id"], e["event_id"]) for e in raw_events]
    )
    fresh = [
        (e, i)
        for e, i in zip(raw_events, event_index)
        if (e["profile_id"], e["event_id"]) not in stored
    ]
    duplicates = len(raw_events) - len(fresh)
    raw_events, event_index = [e for e, _ in fresh], [i for _, i in fresh]
    for start in range(0, len(raw_events), events.MAX_BATCH):
        chunk = raw_events[start : start + events.MAX_BATCH]
        result = events.ingest(project_id, {"events": chunk})
        duplicates += result["duplicates"]
        for error in result["errors"]:
            i = event_index[start + error["index"]]
            errors[i] = _reframed(error["error"], f"/events/{error['index']}", _path(base, i, kind))
    failed, unchanged = _write_traits(project_id, traits_by_profile, lambda i: _path(base, i, kind))
    errors.update(failed)
    duplicates += len(unchanged)
    return _summary(messages, errors, warnings, duplicates)


def _path(base: str, i: int, kind: str | None) -> str:
    return f"{base}/{i}" if kind is None else ""


# where a field of our event came from in the message
MESSAGE_FIELDS = {
    "/value": "/properties/revenue",
    "/profile_id": "/userId",
    "/event_id": "/messageId",
}


def _reframed(error: dict, old: str, new: str) -> ServiceError:
    """An error of one of our events as the error of the message it came from."""
    path = error.get("path", "")
    rest = path[len(old) :] if path.startswith(old) else ""
    mapped = new + MESSAGE_FIELDS.get(rest, rest)
    return ServiceError(error["message"], mapped or "/", error["code"])


def _write_traits(
    project_id: str, traits_by_profile: dict, path_of
) -> tuple[dict[int, ServiceError], list[int]]:
    """Each identified profile's attributes, its identifies merged in order. A profile whose
    attributes would not change is not written (a redelivered identify costs one read), and its
    identifies are returned as unchanged (reported as duplicates)."""
    failed: dict[int, ServiceError] = {}
    unchanged: list[int] = []
    stored = profile_table.batch_get(project_id, list(traits_by_profile))
    writes = []  # (profile id, attributes, indexes of its identifies)
    for profile_id, indexed in traits_by_profile.items():
        update: dict = {}
        for _, attributes in indexed:
            update = {**update, **attributes}
        existing = stored.get(profile_id)
        before = existing.attributes if existing else {}
        if existing is not None and merge_attributes(before, update) == before:
            unchanged.extend(i for i, _ in indexed)
        else:
            writes.append((profile_id, update, [i for i, _ in indexed]))
    for start in range(0, len(writes), profiles.MAX_BATCH):
        chunk = writes[start : start + profiles.MAX_BATCH]
        body = {"profiles": [{"profile_id": pid, "attributes": a} for pid, a, _ in chunk]}
        for result in profiles.batch_upsert(project_id, body)["results"]:
            if result["status"] == "error":
                error = result["error"]
                for i in chunk[result["index"]][2]:
                    failed[i] = ServiceError(
                        error["message"], f"{path_of(i)}/traits", error["code"]
                    )
    return failed, unchanged


def _summary(messages: list, errors: dict, warnings: dict, duplicates: int) -> dict:
    def message_id(i):
        m = messages[i]
        found = m.get("messageId") if isinstance(m, dict) else None
        return found if isinstance(found, str) else None  # as the answer's schema says

    return {
        "success": True,
        "accepted": len(messages) - len(errors) - duplicates,
        "duplicates": duplicates,
        "rejected": len(errors),
        "errors": [
            {"index": i, "messageId": message_id(i), **errors[i].to_dict()} for i in sorted(errors)
        ],
        "warnings": [
            {"index": i, "messageId": message_id(i), "dropped": warnings[i]}
            for i in sorted(warnings)
            if i not in errors
        ],
    }
