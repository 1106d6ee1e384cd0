"""Score writes in bulk: each changed profile's conditional `predictive` update and its change
entry go together in one DynamoDB transaction, up to PROFILES_PER_TRANSACTION profiles a call, a
few calls at a time. Both items commit or neither, so no hint is written first (a hint was the
guard against a score update whose entry never followed).

Counting (bench/scale_sim.py): one TransactWriteItems call of 100 items (50 profiles x update +
change entry) is one call, so a rescore that changes every score costs 1/50 = 0.02 calls per
changed profile, plus a retry call for a transaction that lost to a concurrent writer."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import ClientError
from pynamodb.attributes import VersionAttribute

from ..profile_documents import segmentable_document
from . import change_log, table_keys
from .connection import bind, transaction_connection
from .records import ProfileRecord
from .tables import ChangeModel, ProfileModel

PROFILES_PER_TRANSACTION = 50  # DynamoDB takes 100 items a transaction: an update + an entry each
PARALLEL_TRANSACTIONS = 4
MAX_ATTEMPTS = 8


def _version_name() -> str:
    return next(
        a.attr_name
        for a in ProfileModel.get_attributes().values()
        if isinstance(a, VersionAttribute)
    )


def _items(
    profile: ProfileRecord, predictive: dict, change_at: str | None
) -> tuple[list[dict], ChangeModel]:
    """The conditional score update (the version stays) and the score's change entry, and the
    entry."""
    project_id, profile_id = profile.project_id, profile.profile_id
    shards = bind().profile_shards
    # the whole segmentable document, not the scores alone: the entry then tells how the profile
    # looks even when its write entry is older than the overlay (a stream trigger that lags)
    document = segmentable_document({**profile.document(), "predictive": predictive})
    change = change_log.entry(
        project_id, profile_id, change_at, change_log.PREDICTIVE, profile.version, document
    )
    attribute = ProfileModel.predictive
    update = {
        "Update": {
            "TableName": ProfileModel.Meta.table_name,
            "Key": {
                "pk": {"S": table_keys.profile_partition_of(project_id, profile_id, shards)},
                "profile_id": {"S": profile_id},
            },
            "UpdateExpression": "SET #a = :a",
            "ConditionExpression": "#v = :v",
            "ExpressionAttributeNames": {"#a": attribute.attr_name, "#v": _version_name()},
            "ExpressionAttributeValues": {
                ":a": {attribute.attr_type: attribute.serialize(predictive)},
                ":v": {"N": str(profile.version)},
            },
        }
    }
    put = {"Put": {"TableName": ChangeModel.Meta.table_name, "Item": change.serialize()}}
    return [update, put], change


Change = tuple[ProfileRecord, dict, str | None]  # profile as read, new scores, entry stamp


def _write_chunk(chunk: list[Change]) -> set[str]:
    """One transaction; a profile whose version moved is left out and the rest sent again.
    Returns the ids written."""
    client = transaction_connection().client
    pending = list(chunk)
    for attempt in range(MAX_ATTEMPTS):
        if not pending:
            return set()
        built = [_items(profile, scores, at) for profile, scores, at in pending]
        try:
            client.transact_write_items(TransactItems=[i for items, _ in built for i in items])
            # a backdated entry is meant to be older than what reads of the log go back to
            change_log.landed(
                [entry for (_, entry), (_, _, at) in zip(built, pending) if at is None]
            )
            return {change[0].profile_id for change in pending}
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons") or []
            stale = {
                i // 2
                for i, r in enumerate(reasons)
                if (r or {}).get("Code") == "ConditionalCheckFailed"
            }
            code = exc.response.get("Error", {}).get("Code")
            if stale:
                pending = [p for i, p in enumerate(pending) if i not in stale]
                continue  # changed since it was read: its own trigger scores the newer data
            if code not in ("TransactionCanceledException", "TransactionConflictException"):
                raise
            time.sleep(min(0.5, 0.01 * 2**attempt) * random.random())
    raise RuntimeError(f"{len(pending)} score writes kept conflicting")


def write_scores(changes: list[Change]) -> set[str]:
    """Write each (profile as read, new predictive fields, stamp) if the profile is still that
    version; returns the ids written (the others changed meanwhile). The stamp dates the change
    entry (None: now; a rescore backdates it: change_log.before_snapshot); a profile may be in
    the list once."""
    bind()
    chunks = [
        changes[i : i + PROFILES_PER_TRANSACTION]
        for i in range(0, len(changes), PROFILES_PER_TRANSACTION)
    ]
    if len(chunks) <= 1:
        return set().union(*(_write_chunk(c) for c in chunks))
    with ThreadPoolExecutor(min(PARALLEL_TRANSACTIONS, len(chunks))) as pool:
        return set().union(*pool.map(_write_chunk, chunks))
