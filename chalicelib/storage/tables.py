"""DynamoDB tables, declared in one place. Table names, endpoint and region are bound lazily from
chalicelib.infra.config by `bind()`, so importing this module reads no environment.

Key design (docs/storage.md; the composite keys are built and parsed in storage.table_keys only):
- profiles: pk = "<project>#<shard>" (shard = stable hash of profile_id mod PROFILE_SHARDS),
  sk = profile_id. One project's profiles are PROFILE_SHARDS queries; no scan, no other tenant.
- events: pk = "<project>#<profile_id>", sk = event_id. Conditional puts make redelivery a no-op;
  erasure is one query per profile.
- attribute_kinds: pk = project, sk = attribute name; counts of stored values by kind.
- segments: pk = project, sk = segment_id.
- memberships: pk = "<project>#<segment_id>", sk = profile_id; who is in a segment now.
- membership_changes: pk = "<project>#<segment_id>", sk = "<time>#<profile_id>"; entries and
  exits. Both have a keys-only index by "<project>#<profile_id>", for erasure.
- segment_stats: pk = "<project>#<segment_id>", sk = time of a full evaluation.
- projects: pk = project; api_keys: pk = sha256 of the key.
- source_keys: pk = "write_key#<sha256 of a Segment-compatible write key>" or
  "shopify#<project>" (the shop's webhook secret); storage.source_keys.
- identity_links: pk = "<project>#<anonymous id>": the user id it was linked to.
"""

from __future__ import annotations

from pynamodb.attributes import (
    Attribute,
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    NumberSetAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, Index, KeysOnlyProjection
from pynamodb.models import Model


def set_json(attribute: JSONAttribute, value):
    """The update action that sets a JSON attribute to `value`. PynamoDB's `attribute.set(value)`
    takes a dict of one key named like a DynamoDB type ({"N": 5}, {"S": "x"}, ...) as a value
    already serialised and stores it as that type: a profile whose attributes were {"N": 5}
    was stored as a number and every later read of it failed. The text is serialised here."""
    return attribute.set({attribute.attr_type: attribute.serialize(value)})


class ProjectModel(Model):
    class Meta:
        table_name = "projects"

    project_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    created_at = UnicodeAttribute()
    model_version = UnicodeAttribute(null=True)  # the project's own model; None: the default
    snapshot_key = UnicodeAttribute(null=True)  # S3 key of the latest columnar snapshot
    snapshot_at = UnicodeAttribute(null=True)  # changes from this time on are in the change log
    control_percent = NumberAttribute(null=True)  # project-wide control group (uplift)
    time_zone = UnicodeAttribute(null=True)  # IANA name for day-based rules; None: UTC
    event_properties = ListAttribute(of=UnicodeAttribute, null=True)  # segmentable properties
    # compaction (chalicelib.audience.compaction): profile changes counted since the snapshot,
    # and when a compaction was last queued (the debounce marker; removed when it is done)
    changes_since_snapshot = NumberAttribute(null=True)
    snapshot_rows = NumberAttribute(null=True)
    compaction_requested_at = UnicodeAttribute(null=True)
    erased_at = UnicodeAttribute(null=True)  # the latest profile erasure (change_log.erase)


class ApiKeyModel(Model):
    class Meta:
        table_name = "api_keys"

    key_hash = UnicodeAttribute(hash_key=True)
    key_id = UnicodeAttribute()
    project_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    revoked = BooleanAttribute(default=False)
    # request limits (storage.project_table; None: the defaults there)
    rate_limit = NumberAttribute(null=True)  # requests per second
    burst = NumberAttribute(null=True)


class SourceKeyModel(Model):
    """A write key of a project's Segment-compatible source (stored as its hash), or the secret
    that signs a shop's Shopify webhooks (kept as given: verifying needs it)."""

    class Meta:
        table_name = "source_keys"

    key = UnicodeAttribute(hash_key=True)
    project_id = UnicodeAttribute()
    key_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    revoked = BooleanAttribute(default=False)
    secret = UnicodeAttribute(null=True)


class ByUserIndex(GlobalSecondaryIndex):
    """Every identity link to one profile: erasure reads it."""

    class Meta:
        index_name = "by_user"
        projection = KeysOnlyProjection()

    user_key = UnicodeAttribute(hash_key=True)  # "<project>#<user id>"


class IdentityLinkModel(Model):
    """An anonymous id seen together with a user id: later messages of the anonymous id go to
    the user's profile; `merged` once the anonymous profile's events were moved there. (Also a
    Shopify order id and the profile its refunds go to.)"""

    class Meta:
        table_name = "identity_links"

    key = UnicodeAttribute(hash_key=True)  # "<project>#<anonymous id>"
    user_id = UnicodeAttribute()
    user_key = UnicodeAttribute()
    linked_at = UnicodeAttribute()
    merged = BooleanAttribute(default=False)
    by_user = ByUserIndex()


class ProfileModel(Model):
    class Meta:
        table_name = "profiles"
        stream_view_type = "NEW_AND_OLD_IMAGES"

    pk = UnicodeAttribute(hash_key=True)
    profile_id = UnicodeAttribute(range_key=True)
    project_id = UnicodeAttribute()
    # JSON documents: each is written whole by its one writer (clients: attributes; events:
    # behaviour; scoring: predictive), so no writer ever needs a path inside another's document.
    attrs = JSONAttribute(attr_name="attributes", default=dict)
    behaviour = JSONAttribute(default=dict)
    predictive = JSONAttribute(default=dict)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()


class EventModel(Model):
    class Meta:
        table_name = "events"

    pk = UnicodeAttribute(hash_key=True)
    event_id = UnicodeAttribute(range_key=True)
    # The event as received (type, timestamp, value, properties, received_at), as one JSON
    # document: events are written once and read whole, and fewer attributes are cheaper.
    data = JSONAttribute()


KINDS = ("string", "number", "boolean", "list", "date")


class AttributeKindModel(Model):
    class Meta:
        table_name = "attribute_kinds"

    project_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute(range_key=True)
    # How many stored values of the attribute have each kind (validation.attribute_kind).
    n_string = NumberAttribute(attr_name="string", default=0)
    n_number = NumberAttribute(attr_name="number", default=0)
    n_boolean = NumberAttribute(attr_name="boolean", default=0)
    n_list = NumberAttribute(attr_name="list", default=0)
    n_date = NumberAttribute(attr_name="date", default=0)
    # only on a batch write's delta item (storage.kind_counts): {name: {kind: change}}
    deltas = JSONAttribute(null=True)

    def counts(self) -> dict[str, int]:
        return {kind: int(getattr(self, f"n_{kind}") or 0) for kind in KINDS}


class SegmentModel(Model):
    class Meta:
        table_name = "segments"

    project_id = UnicodeAttribute(hash_key=True)
    segment_id = UnicodeAttribute(range_key=True)
    definition = JSONAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()
    # webhook destinations: [{"destination_id", "url", "secret", "created_at"}]
    destinations = JSONAttribute(null=True)


class JobModel(Model):
    """Summaries of rescoring and training jobs; job ids sort by start time."""

    class Meta:
        table_name = "jobs"

    project_id = UnicodeAttribute(hash_key=True)
    job_id = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    status = UnicodeAttribute()
    started_at = UnicodeAttribute()
    finished_at = UnicodeAttribute(null=True)
    summary = JSONAttribute(default=dict)
    # fan-out jobs: one message per shard; a shard number moves from failed to done when a retry
    # succeeds (set additions are idempotent, so a redelivered message counts once)
    shards_total = NumberAttribute(null=True)
    shards_done = NumberSetAttribute(null=True)
    shards_failed = NumberSetAttribute(null=True)
    taken_at = UnicodeAttribute(null=True)  # the snapshot this job builds is as of this time
    finalized = BooleanAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    # "<shard>.<piece>" -> the last profile id of that piece of a shard that continued ("" when
    # the piece ended the shard); set once each, so a redelivered piece covers the same rows
    piece_ends = MapAttribute(null=True)


class ByProfileIndex(GlobalSecondaryIndex):
    """Every membership row (or history entry) of one profile: erasure reads it."""

    class Meta:
        index_name = "by_profile"
        projection = KeysOnlyProjection()

    profile_key = UnicodeAttribute(hash_key=True)  # "<project>#<profile_id>"


class MembershipModel(Model):
    """A profile in a segment, since `entered_at`."""

    class Meta:
        table_name = "memberships"

    segment_key = UnicodeAttribute(hash_key=True)  # "<project>#<segment_id>"
    profile_id = UnicodeAttribute(range_key=True)
    profile_key = UnicodeAttribute()
    entered_at = UnicodeAttribute()
    control = BooleanAttribute(null=True)  # held out of activation (uplift's control group)
    by_profile = ByProfileIndex()


class MembershipChangeModel(Model):
    """One entry into or exit from a segment. Written in the same transaction as the membership
    row it creates or deletes, so each transition is recorded exactly once."""

    class Meta:
        table_name = "membership_changes"

    segment_key = UnicodeAttribute(hash_key=True)
    change_id = UnicodeAttribute(range_key=True)  # "<ISO time with microseconds>#<profile_id>"
    profile_key = UnicodeAttribute()
    change = UnicodeAttribute()  # "entered" or "exited"
    expires = NumberAttribute()  # DynamoDB TTL
    control = BooleanAttribute(null=True)  # the member's group as it entered (uplift)
    by_profile = ByProfileIndex()


class SegmentStatModel(Model):
    """A full evaluation of a segment: its size then, what moved, how long it took."""

    class Meta:
        table_name = "segment_stats"

    segment_key = UnicodeAttribute(hash_key=True)
    at = UnicodeAttribute(range_key=True)
    size = NumberAttribute()
    entered = NumberAttribute()
    exited = NumberAttribute()
    duration_ms = NumberAttribute()
    trigger = UnicodeAttribute()
    expires = NumberAttribute()


class ChangeModel(Model):
    """Which profiles changed when, and how they look now: segment evaluation overlays them on
    the snapshot (chalicelib.storage.change_log). Kinds: "write" (a client or event write, in its
    transaction) and "predictive" (after a score write) carry the profile's segmentable
    document and version; "erased" marks an erasure; no kind is a hint ("read it again"),
    written before a change whose entry might not follow. Entries expire after CHANGE_TTL_DAYS
    (DynamoDB TTL on `expires`)."""

    class Meta:
        table_name = "changes"

    project_id = UnicodeAttribute(hash_key=True)
    change_id = UnicodeAttribute(range_key=True)  # "<ISO time with microseconds>#<profile_id>"
    expires = NumberAttribute()
    kind = UnicodeAttribute(null=True)
    version = NumberAttribute(null=True)
    document = JSONAttribute(null=True, attr_name="doc")
    profile_key = UnicodeAttribute(null=True)  # "<project>#<profile_id>", for erasure
    by_profile = ByProfileIndex()


def key_attributes(model: type[Model]) -> list[tuple[str, Attribute]]:
    """(python name, attribute) of a model's hash key, then of its range key if it has one: the
    schema through PynamoDB's public attribute API (batch calls, the deployment template)."""
    attributes = model.get_attributes().items()
    return [(n, a) for n, a in attributes if a.is_hash_key] + [
        (n, a) for n, a in attributes if a.is_range_key
    ]


def indexes(model: type[Model]) -> list[Index]:
    """A model's secondary indexes (declared as class attributes)."""
    return [value for value in vars(model).values() if isinstance(value, Index)]


ALL_MODELS = (
    ProjectModel,
    ApiKeyModel,
    SourceKeyModel,
    IdentityLinkModel,
    ProfileModel,
    EventModel,
    AttributeKindModel,
    SegmentModel,
    JobModel,
    ChangeModel,
    MembershipModel,
    MembershipChangeModel,
    SegmentStatModel,
)
