"""Destinations of a segment: webhooks (entries and exits POSTed to them, signed) and ad-platform
audiences (Meta Custom Audiences, Google Ads Customer Match: services/ad_audiences). Deliveries
go through the work queue: retried with backoff, dead-lettered after repeated failure. Members
of the control group are never sent anywhere."""

from __future__ import annotations

import logging
import secrets

from ..infra.config import settings
from ..infra.errors import Conflict, NotFound
from ..storage import credentials, segment_table, work_queue
from ..storage.records import SegmentRecord
from ..storage.work_messages import Deliver, SyncAudience
from ..validation import check_id, expect_object, now_iso
from . import ad_audiences, segments, webhooks
from .ad_audiences import worker as ad_worker

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 5


def _allow_private() -> bool:
    """Local runs and tests deliver to http://127.0.0.1; a deployment never should."""
    return settings().allow_private_webhooks


WEBHOOK = "webhook"


def _type(destination: dict) -> str:
    return destination.get("type", WEBHOOK)  # webhooks stored before types existed have none


def _public(destination: dict) -> dict:
    if ad_audiences.is_ad_type(_type(destination)):
        return ad_audiences.public(destination)
    return {"type": WEBHOOK, **{k: destination[k] for k in ("destination_id", "url", "created_at")}}


def create(project_id: str, segment_id: str, body) -> dict:
    segment = segments.load(project_id, segment_id)
    kind = body.get("type", WEBHOOK) if isinstance(body, dict) else WEBHOOK
    if kind != WEBHOOK:
        return _create_ad_audience(project_id, segment, kind, body)
    body = expect_object(body, "", {"type", "url"}, {"url"})
    url = webhooks.check_url(body["url"], _allow_private())
    current = _room_for_one(segment)
    destination = {
        "destination_id": "dst_" + secrets.token_hex(8),
        "url": url,
        "secret": "whsec_" + secrets.token_urlsafe(32),
        "created_at": now_iso(),
    }
    segment_table.set_destinations(segment, current + [destination])
    # the secret is shown once: the receiver keeps it to check signatures
    return {**_public(destination), "secret": destination["secret"]}


def _room_for_one(segment: SegmentRecord) -> list[dict]:
    current = list(segment.destinations or [])
    if len(current) >= webhooks.MAX_DESTINATIONS:
        raise Conflict(
            f"a segment has at most {webhooks.MAX_DESTINATIONS} destinations",
            "/",
            "too_many_destinations",
        )
    return current


def _create_ad_audience(project_id: str, segment: SegmentRecord, kind, body: dict) -> dict:
    """An ad-platform audience: its credentials sealed (never returned), then every current
    member queued for upload (the backfill)."""
    platform_settings, given = ad_audiences.check(kind, body)
    current = _room_for_one(segment)
    destination_id = "dst_" + secrets.token_hex(8)
    try:
        sealed = credentials.seal(project_id, destination_id, given)
    except credentials.CredentialsUnavailable as exc:
        raise Conflict(str(exc), "/credentials", "credentials_unavailable") from None
    destination = {
        "destination_id": destination_id,
        "type": kind,
        "settings": platform_settings,
        "credentials": sealed,
        "created_at": now_iso(),
    }
    segment_table.set_destinations(segment, current + [destination])
    work_queue.send([SyncAudience(project_id, segment.segment_id, destination_id, "backfill")])
    return ad_audiences.public(destination)


def list_all(project_id: str, segment_id: str) -> dict:
    segment = segments.load(project_id, segment_id)
    return {"destinations": [_public(d) for d in segment.destinations or []]}


def delete(project_id: str, segment_id: str, destination_id: str) -> None:
    check_id(destination_id, "/destination_id", "destination_id")
    segment = segments.load(project_id, segment_id)
    current = list(segment.destinations or [])
    kept = [d for d in current if d["destination_id"] != destination_id]
    if len(kept) == len(current):
        raise NotFound(f"destination {destination_id!r} not found", "/destination_id")
    segment_table.set_destinations(segment, kept)


def notify(project_id: str, segment: SegmentRecord, changes: list[dict]) -> int:
    """Queue the deliveries of applied entries and exits to each destination of the segment.
    The one place control members are held out of every activation (webhooks, ad audience
    syncs); what is passed on keeps the payload shape ({"profile_id", "change", "at"})."""
    changes = [
        {k: v for k, v in c.items() if k != "control"} for c in changes if not c.get("control")
    ]
    messages = []
    for destination in segment.destinations or []:
        if ad_audiences.is_ad_type(_type(destination)):
            messages += ad_worker.queue_changes(
                project_id, segment.segment_id, destination["destination_id"], changes
            )
            continue
        for start in range(0, len(changes), webhooks.CHANGES_PER_DELIVERY):
            chunk = changes[start : start + webhooks.CHANGES_PER_DELIVERY]
            messages.append(
                Deliver(
                    project_id,
                    segment.segment_id,
                    destination["destination_id"],
                    webhooks.delivery_id(segment.segment_id, destination["destination_id"], chunk),
                    chunk,
                )
            )
    if messages:
        work_queue.send(messages)
    return len(messages)


class DeliveryFailed(Exception):
    """The destination did not take the delivery: the work queue retries it later."""


def deliver(
    project_id: str, segment_id: str, destination_id: str, delivery: str, changes: list[dict]
) -> dict:
    import requests

    segment = segment_table.get(project_id, segment_id)
    destination = (
        next((d for d in segment.destinations or [] if d["destination_id"] == destination_id), None)
        if segment
        else None
    )
    if destination is None or _type(destination) != WEBHOOK:
        return {"skipped": "the segment or destination was deleted"}
    url = webhooks.check_url(destination["url"], _allow_private())  # the host may have moved
    body = webhooks.payload(project_id, segment_id, delivery, changes)
    try:
        response = requests.post(
            url,
            data=body,
            timeout=TIMEOUT_SECONDS,
            allow_redirects=False,
            headers={
                "Content-Type": "application/json",
                "X-Segments-Delivery": delivery,
                webhooks.SIGNATURE_HEADER: webhooks.sign(destination["secret"], body),
            },
        )
    except requests.RequestException as exc:
        raise DeliveryFailed(f"{url}: {type(exc).__name__}") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"{url} answered {response.status_code}")
    return {"delivered": len(changes), "status": response.status_code}
