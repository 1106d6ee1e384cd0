"""The profiles table's stream records (NEW_AND_OLD_IMAGES) read into plain typed records: the
stream handler (api.triggers) never sees the table's key layout or attribute encoding."""

from __future__ import annotations

from dataclasses import dataclass

from boto3.dynamodb.types import TypeDeserializer

from . import table_keys
from .profile_table import to_record
from .tables import ProfileModel

_deserialize = TypeDeserializer().deserialize
# what the scoring write itself changes: a record changing nothing else needs no scoring
SCORE_ONLY = ("predictive",)


@dataclass(frozen=True)
class ProfileChange:
    """One change of one stored profile, as the stream told it."""

    sequence_number: str | None
    event_name: str  # "INSERT", "MODIFY" or "REMOVE"
    project_id: str
    profile_id: str
    old: dict | None  # the profile document before (None: it was created)
    new: dict | None  # after (None: it was removed)
    content_changed: bool  # anything but the predictive fields

    @property
    def needs_scoring(self) -> bool:
        """Removals and score-only writes need none: that is what stops trigger loops."""
        return self.event_name in ("INSERT", "MODIFY") and self.content_changed


def _values(image: dict | None) -> dict:
    return {k: _deserialize(v) for k, v in (image or {}).items()}


def _document(image: dict | None) -> dict | None:
    return to_record(ProfileModel.from_raw_data(image)).document() if image else None


def parse_stream_record(record) -> ProfileChange:
    """A stream record (chalice's DynamoDBRecord: keys, old_image, new_image, event_name,
    sequence_number) to a typed change; raises on a record that is not a profile's."""
    keys = _values(record.keys)
    project_id, _ = table_keys.parse_profile_partition(str(keys["pk"]))
    new, old = _values(record.new_image), _values(record.old_image)
    content_changed = {k: v for k, v in new.items() if k not in SCORE_ONLY} != {
        k: v for k, v in old.items() if k not in SCORE_ONLY
    }
    return ProfileChange(
        record.sequence_number,
        record.event_name,
        project_id,
        str(keys["profile_id"]),
        _document(record.old_image),
        _document(record.new_image),
        content_changed,
    )
