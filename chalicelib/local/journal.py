"""The local store's journal: what moto's DynamoDB tables and model bucket hold survives a crash
of the process between two saves (store.py).

Every moto call that changes an item or an object appends one record, the new state of what it
changed (the item, or None once deleted), before moto answers the call (moto_lock runs
`write_pending` when the outermost call returns). So an answer the API gave after a write comes
after its record reached the kernel: a kill -9 loses no acknowledged write. The journal is
fsynced every SYNC_EVERY seconds, which bounds what a power loss can take.

One call, one record, one write(): a transaction's items are replayed all or none. A record is
framed with its length and CRC-32, so one cut short by a kill is recognised and dropped. Records
hold states, not requests: replaying a record twice, or over a save that already has it, changes
nothing, and replay needs no condition or update expression to come out as it did.

A record's payload is a JSON header, a newline, then the items' JSON texts one after another
(the header gives each item's table, key text and length): a save folds records into its image
as text (store_image.py), without parsing every item written since the last save. Records of
the first format (one JSON document) are still read.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import os
import re
import struct
import zlib
from pathlib import Path

from . import moto_lock

log = logging.getLogger("local.journal")
HEADER = struct.Struct(">II")  # payload length, CRC-32 of the payload
FILE_NAME = re.compile(r"^journal-(\d+)\.log$")
SYNC_EVERY = 1.0

_active: Journal | None = None
# what the current moto call changed, in the order first touched: (kind, container, key) ->
# (backend, key); read once the call returns, so a transaction's item is written in its final state
_touched: dict[tuple, tuple] = {}


def key_text(key: dict) -> str:
    """An item's key attributes (DynamoDB JSON) as one text: how records and the image name it."""
    return json.dumps(key, sort_keys=True)


def item_text(attrs: dict) -> str:
    return json.dumps(attrs, separators=(",", ":"))


def file_of(directory: Path, seq: int) -> Path:
    return directory / f"journal-{seq:08d}.log"


def files(directory: Path) -> list[tuple[int, Path]]:
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := FILE_NAME.match(p.name))]
    return sorted(found)


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Journal:
    """The open journal file; rotated by each save, whose snapshot covers the files before."""

    def __init__(self, directory: Path, table_prefix: str, bucket: str | None, seq: int):
        self.dir, self.prefix, self.bucket = directory, table_prefix, bucket
        self.seq, self.records = seq, 0
        self.lost = False  # a record could not be appended: the next save copies moto whole
        self._fd = self._open(seq)

    def _open(self, seq: int) -> int:
        fd = os.open(file_of(self.dir, seq), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        fsync_dir(self.dir)
        return fd

    def append(self, payload: bytes) -> None:
        data = memoryview(HEADER.pack(len(payload), zlib.crc32(payload)) + payload)
        while data:
            data = data[os.write(self._fd, data) :]
        self.records += 1

    def rotate(self) -> tuple[int, int]:
        """Start the next file (call with moto_lock held). Returns the new file's number and the
        old file's descriptor, for the caller to fsync and close outside the lock."""
        old = self._fd
        self.seq += 1
        self._fd, self.records = self._open(self.seq), 0
        return self.seq, old

    def sync(self) -> None:
        with moto_lock.held():  # a rotation may close the descriptor meanwhile
            fd = os.dup(self._fd)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def drop_before(self, seq: int) -> None:
        """Delete the files a kept save already covers."""
        for number, path in files(self.dir):
            if number < seq:
                path.unlink(missing_ok=True)

    def close(self) -> None:
        os.fsync(self._fd)
        os.close(self._fd)


def activate(journal: Journal | None) -> None:
    """Journal every change moto makes from now on into `journal` (None: stop)."""
    global _active
    if journal is not None:
        _install_hooks()
    with moto_lock.held():
        _touched.clear()
        _active = journal


# -- recording ------------------------------------------------------------------------------


def _touch_item(backend, table_name, key_attrs) -> None:
    journal = _active
    if (
        journal is None
        or not isinstance(table_name, str)
        or not table_name.startswith(journal.prefix)
    ):
        return
    table = backend.tables.get(table_name)
    if table is None or not isinstance(key_attrs, dict):
        return
    try:
        key = {
            name: key_attrs[name] for name in (table.hash_key_attr, table.range_key_attr) if name
        }
    except KeyError:  # moto refuses the call itself
        return
    _touched.setdefault(("d", table_name, key_text(key)), (backend, key))


def _touch_object(backend, bucket, key) -> None:
    journal = _active
    if journal is not None and bucket == journal.bucket:
        _touched.setdefault(("s", bucket, key), (backend, key))


def _wrap(cls, name: str, touch, key_argument: str) -> None:
    original = getattr(cls, name)
    if getattr(original, "_journaled", False):
        return

    @functools.wraps(original)
    def recorded(self, *args, **kwargs):
        try:
            container = args[0] if args else kwargs.get("table_name", kwargs.get("bucket_name"))
            key = args[1] if len(args) > 1 else kwargs.get(key_argument)
            touch(self, container, key)
        except Exception:  # recording must never change how moto answers
            log.exception("could not record a change for the journal")
        return original(self, *args, **kwargs)

    recorded._journaled = True
    setattr(cls, name, recorded)


def _install_hooks() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.s3.models import S3Backend

    # BatchWriteItem and TransactWriteItems (and moto_lock's rollback) go through these three
    _wrap(DynamoDBBackend, "put_item", _touch_item, "item_attrs")
    _wrap(DynamoDBBackend, "update_item", _touch_item, "key")
    _wrap(DynamoDBBackend, "delete_item", _touch_item, "key")
    # CopyObject and multipart uploads end in put_object; DeleteObjects in delete_object
    _wrap(S3Backend, "put_object", _touch_object, "key_name")
    _wrap(S3Backend, "delete_object", _touch_object, "key_name")
    moto_lock.after_each_call(write_pending)


def _object_state(obj) -> dict | None:
    from moto.s3.models import FakeKey

    if not isinstance(obj, FakeKey):
        return None
    return {"body": base64.b64encode(obj.value).decode(), "meta": dict(obj.metadata)}


def write_pending() -> None:
    """Append what the call that just returned changed (moto_lock calls this, lock held)."""
    if not _touched:
        return
    touched = list(_touched.items())
    _touched.clear()
    journal = _active
    if journal is None:
        return
    header: dict = {"d": [], "s": []}
    texts: list[bytes] = []
    try:
        for (kind, container, text), (backend, key) in touched:
            if kind == "d":
                table = backend.tables.get(container)
                if table is None:
                    continue
                item = backend.get_item(container, key)
                if item is None:
                    header["d"].append([container, text, -1])
                    continue
                attrs = item.to_json()["Attributes"]
                names = (table.hash_key_attr, table.range_key_attr)
                texts.append(item_text(attrs).encode())
                # the key as the item holds it: the same text the image names a saved item by
                own_key = key_text({n: attrs[n] for n in names if n})
                header["d"].append([container, own_key, len(texts[-1])])
            else:
                bucket = backend.buckets.get(container)
                obj = bucket.keys.get(key) if bucket else None
                header["s"].append([container, key, _object_state(obj)])
        journal.append(b"".join([item_text(header).encode(), b"\n", *texts]))
    except Exception:  # the next save still takes the change; the answer must not fail
        journal.lost = True
        log.exception("could not append to the journal %s", file_of(journal.dir, journal.seq))


# -- replay ---------------------------------------------------------------------------------


def parse(payload: bytes) -> dict:
    """A record: {"d": [[table, key text, item text or None]], "s": [[bucket, key, state]]}."""
    head, newline, body = payload.partition(b"\n")
    if not newline:  # the first format: one JSON document (JSON never holds a raw newline)
        record = json.loads(payload)
        return {
            "d": [
                [t, key_text(key), item_text(item) if item is not None else None]
                for t, key, item in record.get("d", [])
            ],
            "s": record.get("s", []),
        }
    header = json.loads(head)
    items, pos = [], 0
    for table, key, length in header["d"]:
        if length < 0:
            items.append([table, key, None])
            continue
        items.append([table, key, body[pos : pos + length].decode()])
        pos += length
    if pos != len(body):
        raise ValueError("a record's items do not add up to its length")
    return {"d": items, "s": header.get("s", [])}


def read_records(path: Path) -> list[dict]:
    """The complete records of one file (`parse`). A record cut short (a kill mid-write) or
    damaged ends the file: it is truncated there, so records appended later are not hidden
    behind it."""
    data = path.read_bytes()
    records, pos = [], 0
    while pos + HEADER.size <= len(data):
        length, crc = HEADER.unpack_from(data, pos)
        payload = data[pos + HEADER.size : pos + HEADER.size + length]
        if len(payload) < length or zlib.crc32(payload) != crc:
            break
        try:
            records.append(parse(payload))
        except ValueError:
            break
        pos += HEADER.size + length
    if pos < len(data):
        log.warning(
            "%s: dropped %d bytes after its last complete record (a write cut short)",
            path.name,
            len(data) - pos,
        )
        os.truncate(path, pos)
    return records


def apply(record: dict, dynamodb, s3) -> int:
    """Put back what one record says, straight into moto's backends. Returns the entries applied."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    applied = 0
    for table_name, key, item in record.get("d", []):
        table = dynamodb.tables.get(table_name)
        if table is None:
            continue
        if item is not None:
            table.put_item(json.loads(item), overwrite=True)
        else:
            key = json.loads(key)
            range_key = key.get(table.range_key_attr) if table.range_key_attr else None
            table.delete_item(
                DynamoType(key[table.hash_key_attr]), DynamoType(range_key) if range_key else None
            )
        applied += 1
    for bucket, key, state in record.get("s", []):
        if bucket not in s3.buckets:
            continue
        if state is None:
            s3.delete_object(bucket, key)
        else:
            s3.put_object(bucket, key, base64.b64decode(state["body"])).set_metadata(state["meta"])
        applied += 1
    return applied


def replay(directory: Path, first_seq: int, dynamodb, s3, also=None) -> tuple[int, int]:
    """Apply every record of the files numbered first_seq and up, in order (journal off), and
    hand each to `also` if given. Returns (records, entries) applied."""
    records = entries = 0
    for seq, path in files(directory):
        if seq < first_seq:
            continue
        for record in read_records(path):
            entries += apply(record, dynamodb, s3)
            records += 1
            if also is not None:
                also(record)
    return records, entries
