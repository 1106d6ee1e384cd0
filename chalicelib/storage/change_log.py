"""The change log: profiles changed since a time and how they look now, for the snapshot
overlay. A preview reads these small entries instead of re-reading each changed profile."""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from . import batch, snapshot_store, table_keys
from .connection import bind
from .tables import ChangeModel

log = logging.getLogger(__name__)
CHANGE_TTL_DAYS = 7
MARGIN_SECONDS = 120
# An entry is stamped just before the write that carries it, so a read of the log up to a
# moment can miss an entry stamped before that moment and committed after it. A writer whose
# entries landed more than IN_FLIGHT_SECONDS after their stamp writes them again, stamped anew,
# before it answers (`landed`): then re-reading the last LOG_MARGIN_SECONDS (that, and the skew
# between the writers' and readers' clocks) finds every entry a read missed, however long the
# call took. The margin of a snapshot a compaction made from the log, and of each tail read;
# the longer margin above is kept for snapshots read from the table.
IN_FLIGHT_SECONDS = 0.5
CLOCK_SKEW_SECONDS = 0.5
LOG_MARGIN_SECONDS = IN_FLIGHT_SECONDS + CLOCK_SKEW_SECONDS
LANDING_ATTEMPTS = 3
# copies `landed` wrote in this process, a count to watch (the local stack logs it)
copies_written = 0


def stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


WRITE, PREDICTIVE, ERASED = "write", "predictive", "erased"


def entry(
    project_id: str,
    profile_id: str,
    at: str | None = None,
    kind: str | None = None,
    version: int | None = None,
    document: dict | None = None,
) -> ChangeModel:
    return ChangeModel(
        project_id,
        table_keys.change_id(at or stamp(), profile_id),
        expires=int(time.time()) + CHANGE_TTL_DAYS * 86400,
        kind=kind,
        version=version,
        document=document,
        profile_key=table_keys.profile_ref(project_id, profile_id),
    )


def record(
    project_id: str,
    profile_id: str,
    at: str | None = None,
    kind: str | None = None,
    version: int | None = None,
    document: dict | None = None,
) -> None:
    """One entry on its own, stamped now (or backdated to `at`)."""
    bind()
    written = entry(project_id, profile_id, at, kind, version, document)
    written.save()
    if at is None:
        landed([written])


def hints(project_id: str, profile_ids: list[str]) -> None:
    """Hints ("read it again") for profiles about to be written, a batch call's worth at a
    time so that each lands soon after its stamp."""
    bind()
    for start in range(0, len(profile_ids), batch.WRITE_CHUNK):
        written = [entry(project_id, p) for p in profile_ids[start : start + batch.WRITE_CHUNK]]
        batch.write(ChangeModel, written)
        landed(written)


def landed(entries: list[ChangeModel]) -> int:
    """Call once the write that carried `entries` (stamped by `entry`, not backdated) has
    committed, before answering: the ones that landed more than IN_FLIGHT_SECONDS after their
    stamp are written again, stamped now, until a copy lands in time. A copy says what its
    entry says, later, so every reading of the log comes out the same. Returns the copies."""
    copies = 0
    for _ in range(LANDING_ATTEMPTS):
        cutoff = (datetime.now(timezone.utc) - timedelta(seconds=IN_FLIGHT_SECONDS)).strftime(
            "%Y-%m-%dT%H:%M:%S.%fZ"
        )
        late = [e for e in entries if e.change_id < cutoff]
        if not late:
            return copies
        entries = [
            entry(
                e.project_id,
                table_keys.parse_change_id(e.change_id)[1],
                kind=e.kind,
                version=int(e.version) if e.version is not None else None,
                document=e.document,
            )
            for e in late
        ]
        batch.write(ChangeModel, entries)
        copies += len(entries)
        global copies_written
        copies_written += len(entries)  # not exact under threads: a count to watch
    log.warning("%d change entries kept landing late; a whole tail read finds them", len(entries))
    return copies


def before_snapshot(taken_at: str) -> str:
    """A stamp for the score writes of the rescore that builds the snapshot taken at `taken_at`:
    the new snapshot already holds those scores, so its overlay (which starts MARGIN_SECONDS
    before it) must not read them, while the overlay of the previous snapshot still does.
    Not for a profile written after `taken_at`: its own entry is in the new overlay, and the
    score written after it must be too (services.scoring)."""
    return (parse(taken_at) - timedelta(seconds=MARGIN_SECONDS + 1)).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ"
    )


def parse(moment: str) -> datetime:
    return datetime.strptime(moment, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def age_days(moment: str) -> float:
    return (datetime.now(timezone.utc) - parse(moment)).total_seconds() / 86400


@dataclass
class Overlay:
    """The profiles changed since a snapshot: their current documents (None: erased), and the
    ones whose entries do not tell (a hint is their latest entry), to be read again."""

    documents: dict[str, dict | None] = field(default_factory=dict)
    reread: set[str] = field(default_factory=set)
    entries: int = 0  # change entries read

    @property
    def changed(self) -> set[str]:
        return set(self.documents) | self.reread


def resolve(
    entries: list[tuple[str, str | None, int | None, dict | None]],
) -> tuple[bool, dict | None]:
    """One profile's entries (stamp, kind, version, document), to (known, document now).

    Write entries carry the whole segmentable document; score entries carry it too (the
    profile as scored, with its new scores), or only `predictive` (older entries). The write or
    whole score entry of the highest version (then the latest) wins; a score stamped after it
    (stamped after its commit, while a write is stamped before its read) replaces its
    predictive fields; an erasure hides what came before it. Not known (read it again): a hint
    as the latest entry, or scores alone with no write to apply them to."""
    entries = sorted(entries, key=lambda e: e[0])
    if entries[-1][1] is None:
        return False, None
    erased_at = max((e[0] for e in entries if e[1] == ERASED), default="")
    live = [e for e in entries if e[1] in (WRITE, PREDICTIVE) and e[0] > erased_at]
    if not live:
        return True, None
    writes = [
        e for e in live if e[1] == WRITE or (e[1] == PREDICTIVE and set(e[3]) > {"predictive"})
    ]
    if not writes:
        return False, None
    best = max(writes, key=lambda e: (e[2] or 0, e[0]))
    document = best[3]
    newer = [e for e in live if e[1] == PREDICTIVE and e[0] > best[0]]
    if newer:
        document = {**document, "predictive": newer[-1][3]["predictive"]}
    return True, document


def since(
    project_id: str, moment: str, limit: int | None, read_at: str | None = None
) -> Overlay | None:
    """The profiles changed at or after `moment` (less a margin); None when more than `limit`
    entries (no limit: None; the compaction reads them all). The margin covers a write stamped
    just before a snapshot started but committed after the snapshot read its profile:
    overlaying a few extra profiles is harmless. A snapshot whose rows were read from the table
    at `read_at` (its own time unless a compaction made it from the log) may hold a score whose
    entry a rescore backdated out of the margin: profiles with entries before `read_at` are
    read again; the later ones are resolved from their entries. A compaction's snapshot needs
    only the shorter LOG_MARGIN_SECONDS."""
    margin = LOG_MARGIN_SECONDS if read_at and read_at < moment else MARGIN_SECONDS
    start = (parse(moment) - timedelta(seconds=margin)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    held = _tail(project_id, start, limit)
    if held is None:
        return None
    by_profile: dict[str, list] = {}
    for at, profile_id, kind, version, document in held:
        by_profile.setdefault(profile_id, []).append((at, kind, version, document))
    overlay = Overlay(entries=len(held))
    for profile_id, items in by_profile.items():
        if any(at < (read_at or moment) for at, *_ in items):
            # changed around the time the snapshot read it: which is newer, the snapshot row or
            # the entry, cannot be told; the table can
            overlay.reread.add(profile_id)
            continue
        known, document = resolve(items)
        if known:
            overlay.documents[profile_id] = document
        else:
            overlay.reread.add(profile_id)
    return overlay


# The log's tail as this process last read it, per project: a segment answer then reads only
# the entries written since (less LOG_MARGIN_SECONDS: see `landed`) instead of every entry since
# the snapshot. A rescore backdates its score entries (before_snapshot), which such a read would
# not see: a tail first read longer ago than TAIL_FRESH_SECONDS is read again whole, so those
# show within that bound.
TAIL_FRESH_SECONDS = 60
TAILS_KEPT = 8


@dataclass
class _Tail:
    start: str  # every entry from here on, as of `complete_to`, is in `entries`
    complete_to: str
    first_read: float  # time.monotonic() of the whole read
    keys: list[str]  # the keys of `entries`, in order
    entries: dict[str, tuple]  # change_id -> (at, profile_id, kind, version, document)


_tails: OrderedDict[str, _Tail] = OrderedDict()
_tails_lock = threading.Lock()


def forget_tails() -> None:
    """Drop the tails read (tests start each on an empty store)."""
    with _tails_lock:
        _tails.clear()


def _tail(project_id: str, start: str, limit: int | None) -> list[tuple] | None:
    """The entries from `start` on, in key order; None past `limit` of them. The work is that
    of the range read again and the entries new in it: a tail is not walked whole (under a bulk
    load it holds thousands of entries, and a tail is shared by threads, so never changed)."""
    bind()
    began = time.monotonic()
    complete_to = (datetime.now(timezone.utc) - timedelta(seconds=LOG_MARGIN_SECONDS)).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ"
    )
    with _tails_lock:
        tail = _tails.get(project_id)
    if tail is not None and tail.start <= start and began - tail.first_read < TAIL_FRESH_SECONDS:
        read_from, first_read = max(start, tail.complete_to), tail.first_read
    else:  # the whole range again; what is held already comes back as keys only
        read_from, first_read = start, began
    keys, entries = (tail.keys, tail.entries) if tail is not None else ([], {})
    lo, hi = bisect.bisect_left(keys, start), bisect.bisect_left(keys, read_from)
    held = set(keys[hi:])  # held, in the range read again
    new, listed = _entries_from(project_id, read_from, held)
    found = {item.change_id for item in new}
    # the entries gone from the log since (deleted by an erasure) leave memory too
    kept = keys[lo:hi] + sorted((held & listed) | found)
    if limit is not None and len(kept) > limit:
        return None
    out = dict(entries)  # copied whole (fast), then trimmed: a tail is never changed in place
    for key in keys[:lo]:
        del out[key]
    for key in held - listed:
        del out[key]
    for item in new:
        at, profile_id = table_keys.parse_change_id(item.change_id)
        version = int(item.version) if item.version is not None else None
        out[item.change_id] = (at, profile_id, item.kind, version, item.document)
    for item in new:
        if item.kind == ERASED:  # what the erasure deleted from the log leaves memory too
            at, profile_id = table_keys.parse_change_id(item.change_id)
            gone = {k for k in kept if out[k][1] == profile_id and out[k][0] < at}
            kept = [k for k in kept if k not in gone]
            for key in gone:
                del out[key]
    with _tails_lock:
        _tails[project_id] = _Tail(start, max(complete_to, start), first_read, kept, out)
        _tails.move_to_end(project_id)
        while len(_tails) > TAILS_KEPT:
            _tails.popitem(last=False)
    return [out[k] for k in kept]


def _entries_from(project_id: str, read_from: str, held: set[str]) -> tuple[list, set[str]]:
    """The entries from `read_from` on that are not `held` already, in key order, and the keys
    of every entry there. With some held, the range (mostly the margin read again) is read for
    its keys only, and the new entries then by key: under a steady write rate the margin holds
    thousands of documents. An entry never changes once written, so this reads what a read of
    the whole range would."""
    if not held:
        items = list(
            ChangeModel.query(project_id, ChangeModel.change_id >= read_from, consistent_read=True)
        )
        return items, {item.change_id for item in items}
    listed = set(batch.range_keys_from(ChangeModel, project_id, read_from))
    new = [(project_id, k) for k in sorted(listed) if k not in held]
    return sorted(batch.get(ChangeModel, new), key=lambda item: item.change_id), listed


def erase(project_id: str, profile_id: str) -> int:
    """After a profile's erasure: a fresh tombstone (it hides the profile's rows in snapshots
    taken before the erasure, and holds nothing but the id), then every older entry of the
    profile, whose documents hold its data, is deleted. Returns how many were deleted."""
    bind()
    at = stamp()
    snapshot_store.note_erasure(project_id, at)  # first: whoever reads it then finds the tombstone
    tombstone = entry(project_id, profile_id, at=at, kind=ERASED)
    tombstone.save()
    landed([tombstone])
    older = [
        item
        for item in ChangeModel.by_profile.query(table_keys.profile_ref(project_id, profile_id))
        if item.change_id < tombstone.change_id
    ]
    return batch.write(ChangeModel, deletes=older)


def erased_since(project_id: str, moment: str) -> set[str]:
    """Profiles erased at or after `moment` (less the margin): a snapshot taken from then on
    may have read them before their erasure, so it drops their rows. The project's last
    erasure time spares the read of every change entry since when there was none."""
    bind()
    start = (parse(moment) - timedelta(seconds=MARGIN_SECONDS)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    last = snapshot_store.last_erasure(project_id)
    if last is not None and last < start:
        return set()
    erased = {
        table_keys.parse_change_id(item.change_id)[1]
        for item in ChangeModel.query(
            project_id, ChangeModel.change_id >= start, filter_condition=ChangeModel.kind == ERASED
        )
    }
    if last is None:  # not known (a project older than the recorded time): known from now on
        snapshot_store.note_no_erasure(project_id)
    return erased
