"""Repository of what the shop-side sources need: the write keys of a project's Segment-compatible
source (stored as SHA-256 hashes only, like API keys), the secret that signs its Shopify webhooks,
and the links between anonymous ids and user ids that the Segment source learns.

A write key is not an API key: it only sends data into its project (it sits in shop pages and
servers), so it is kept apart from api_keys and never opens the management API."""

from __future__ import annotations

import hmac
import json
import secrets

from ..infra.errors import NotFound
from ..validation import now_iso
from . import batch, credentials, project_table
from .connection import bind
from .records import ApiKeyRecord
from .tables import IdentityLinkModel, SourceKeyModel

WRITE_KEY = "write_key#"
SHOPIFY = "shopify#"


def _hash(write_key: str) -> str:
    return WRITE_KEY + project_table.hash_key(write_key)  # hashed as API keys are


def _record(model: SourceKeyModel) -> ApiKeyRecord:
    return ApiKeyRecord(
        model.key, model.key_id, model.project_id, model.created_at, bool(model.revoked)
    )


def create_write_key(project_id: str) -> tuple[str, ApiKeyRecord]:
    """A new write key; the plain key is returned once and never stored."""
    from . import project_table

    if project_table.get_project(project_id) is None:
        raise NotFound(f"project {project_id!r} does not exist", "/project_id")
    write_key = "wk_" + secrets.token_urlsafe(24)
    item = SourceKeyModel(
        _hash(write_key),
        project_id=project_id,
        key_id="wkey_" + secrets.token_hex(6),
        created_at=now_iso(),
        revoked=False,
    )
    item.save()
    return write_key, _record(item)


def project_of_write_key(write_key: str) -> str | None:
    """The project of a live write key, or None for an unknown or revoked one."""
    bind()
    digest = _hash(write_key)
    try:
        item = SourceKeyModel.get(digest, consistent_read=True)
    except SourceKeyModel.DoesNotExist:
        return None
    if item.revoked or not hmac.compare_digest(item.key, digest):
        return None
    return item.project_id


def list_write_keys(project_id: str) -> list[ApiKeyRecord]:
    bind()
    return [
        _record(item)
        for item in SourceKeyModel.scan(SourceKeyModel.project_id == project_id)  # small table
        if item.key.startswith(WRITE_KEY)
    ]


def revoke_write_key(project_id: str, key_id: str) -> bool:
    for record in list_write_keys(project_id):
        if record.key_id == key_id:
            SourceKeyModel(record.key_hash).update(actions=[SourceKeyModel.revoked.set(True)])
            return True
    return False


def rotate_write_key(project_id: str, key_id: str) -> tuple[str, ApiKeyRecord]:
    """A new write key, then the old one revoked (so the source is never without a key)."""
    if not any(k.key_id == key_id and not k.revoked for k in list_write_keys(project_id)):
        raise NotFound(f"no live write key {key_id!r} in project {project_id!r}", "/key_id")
    write_key, record = create_write_key(project_id)
    revoke_write_key(project_id, key_id)
    return write_key, record


SHOPIFY_CREDENTIALS = "source:shopify"  # the sealing context's "destination" for this secret


def set_shopify_secret(project_id: str, secret: str) -> None:
    """The secret Shopify signs the project's webhooks with (the app's client secret, or the one
    shown under Settings > Notifications > Webhooks); replaces the previous one."""
    from . import project_table

    if project_table.get_project(project_id) is None:
        raise NotFound(f"project {project_id!r} does not exist", "/project_id")
    sealed = credentials.seal(project_id, SHOPIFY_CREDENTIALS, {"secret": secret})
    SourceKeyModel(
        SHOPIFY + project_id,
        project_id=project_id,
        key_id="shopify",
        created_at=now_iso(),
        revoked=False,
        secret=json.dumps(sealed),  # sealed like destination credentials, never in the clear
    ).save()


def shopify_secret(project_id: str) -> str | None:
    bind()
    try:
        item = SourceKeyModel.get(SHOPIFY + project_id, consistent_read=True)
    except SourceKeyModel.DoesNotExist:
        return None
    if item.revoked or not item.secret:
        return None
    return credentials.open_sealed(project_id, SHOPIFY_CREDENTIALS, json.loads(item.secret))[
        "secret"
    ]


# --- identity links -------------------------------------------------------------------------


def _link_key(project_id: str, anonymous_id: str) -> str:
    return f"{project_id}#{anonymous_id}"


def links(project_id: str, anonymous_ids: list[str]) -> dict[str, tuple[str, bool]]:
    """anonymous id -> (user id, merged) for those of the ids that were linked."""
    bind()
    keys = [(_link_key(project_id, a),) for a in dict.fromkeys(anonymous_ids)]
    prefix = len(project_id) + 1
    return {
        item.key[prefix:]: (item.user_id, bool(item.merged))
        for item in batch.get(IdentityLinkModel, keys)
    }


def link(project_id: str, anonymous_id: str, user_id: str) -> None:
    """Record that the anonymous id belongs to the user (not yet merged). The first link wins:
    an anonymous id seen later with another user id keeps its first user."""
    bind()
    item = IdentityLinkModel(
        _link_key(project_id, anonymous_id),
        user_id=user_id,
        user_key=_link_key(project_id, user_id),
        linked_at=now_iso(),
        merged=False,
    )
    try:
        item.save(condition=IdentityLinkModel.key.does_not_exist())
    except Exception as exc:  # PutError: already linked
        if getattr(exc, "cause_response_code", "") != "ConditionalCheckFailedException":
            raise


def mark_merged(project_id: str, anonymous_id: str) -> None:
    IdentityLinkModel(_link_key(project_id, anonymous_id)).update(
        actions=[IdentityLinkModel.merged.set(True)]
    )


def erase_links(project_id: str, profile_id: str) -> int:
    """Forget every link to an erased profile (its anonymous ids, its Shopify orders)."""
    bind()
    found = list(IdentityLinkModel.by_user.query(_link_key(project_id, profile_id)))
    batch.write(IdentityLinkModel, deletes=found)
    return len(found)
