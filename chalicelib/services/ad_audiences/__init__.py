"""Ad-platform audiences as segment destinations (beside webhooks): Meta Custom Audiences and
Google Ads Customer Match. services/destinations.py stores them and queues their work; this
package checks their settings, and turns a chunk of entries and exits into the platform's
requests (meta.py, google_ads.py), sent through transport.send.

- Incremental: each applied entry or exit is queued (`SyncAudience`, mode "changes") and sent
  by the worker; a failure is retried with backoff and dead-lettered like a webhook delivery.
  At send time each change is checked against the stored membership, so a late retry of an old
  entry does not re-add someone who has left since (nor an old exit remove a member).
- Backfill: a new destination gets every current member (mode "backfill").
- Refresh: platforms drop a member some time after its last upload (its lifetime: Google 540
  days; Meta documents none, we assume 365). Every day a sweep (mode "refresh") re-sends each
  member whose last send is older than the lifetime less REFRESH_MARGIN_DAYS (see `due`).
- Control-group members (`control` true on a change or a membership) are never sent.
- Identity: an erased member's hashes are removed, and a member whose email or phone changed
  has its old hashes swapped for the new (identity.py; mode "keys", hashes in the message).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ...infra.errors import ValidationError
from ...storage import credentials as sealed_credentials
from . import google_ads, meta, transport
from .identifiers import google_keys, meta_keys

PLATFORMS = {meta.TYPE: meta, google_ads.TYPE: google_ads}
REFRESH_MARGIN_DAYS = 30
CHANGES_PER_MESSAGE = 1000  # profile ids of at most 128 characters: well under SQS's 256 KB


def is_ad_type(kind) -> bool:
    return isinstance(kind, str) and kind in PLATFORMS


def check(kind, body: dict) -> tuple[dict, dict]:
    if not is_ad_type(kind):
        raise ValidationError(
            "type must be one of webhook, " + ", ".join(sorted(PLATFORMS)), "/type"
        )
    return PLATFORMS[kind].check(body)


def public(destination: dict) -> dict:
    """A destination as the API shows it: settings, never the credentials themselves."""
    return {
        "destination_id": destination["destination_id"],
        "type": destination["type"],
        **destination["settings"],
        "credentials": sealed_credentials.public(destination["credentials"]),
        "created_at": destination["created_at"],
        "refreshed_at": destination.get("refreshed_at"),
    }


def refresh_days(destination: dict) -> int:
    """How often a member is re-sent: its lifetime on the platform less the margin."""
    return max(1, destination["settings"]["membership_lifetime_days"] - REFRESH_MARGIN_DAYS)


def _parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


def due(destination: dict, entered_at: str, now: datetime) -> bool:
    """Whether a member is due a refresh at `now`: its sends are at max(entered, destination
    created) and every `refresh_days` after; one of those falls after the last sweep
    (`refreshed_at`, else the creation) and by now. A missed sweep is caught up by the next."""
    period = timedelta(days=refresh_days(destination))
    created = _parse(destination["created_at"])
    first = max(_parse(entered_at), created)
    last_sweep = _parse(destination.get("refreshed_at") or destination["created_at"])

    def sends_by(moment: datetime) -> int:
        return (moment - first) // period if moment >= first else -1

    return sends_by(now) >= 1 and sends_by(now) > sends_by(last_sweep)


def sync(
    project_id: str, destination: dict, adds: list[dict], removes: list[dict], send=None
) -> dict:
    """Send entries and exits (member documents) to the destination's platform."""
    keys = meta_keys if destination["type"] == meta.TYPE else google_keys
    add_rows = [k for k in map(keys, adds) if k]
    remove_rows = [k for k in map(keys, removes) if k]
    result = sync_rows(project_id, destination, add_rows, remove_rows, send)
    unmatched = len(adds) + len(removes) - len(add_rows) - len(remove_rows)
    return {**result, "without_email_or_phone": unmatched}


def sync_rows(
    project_id: str, destination: dict, add_rows: list, remove_rows: list, send=None
) -> dict:
    """Send hashed rows (identifiers.py's, for the destination's platform) to add and remove."""
    credentials = sealed_credentials.open_sealed(
        project_id, destination["destination_id"], destination["credentials"]
    )
    return PLATFORMS[destination["type"]].sync(
        destination["settings"], credentials, add_rows, remove_rows, send or transport.send
    )


def now() -> datetime:
    return datetime.now(timezone.utc)
