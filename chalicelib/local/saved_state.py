"""Saves and restores the local store: moto's in-memory DynamoDB tables (the local prefix) and the
model bucket, in a gzip'd JSON file, plus the journal of the writes since (journal.py).

A save is one moment: the journal moves to its next file while moto calls are paused (a
transaction's record is in the files before or after, whole). The save is the last one plus the
records of the files before, folded into an image of the store kept in memory (store_image.py;
moto's tables are copied whole only at load, or if a record could not be appended). It is
written to a temporary file of its own, fsynced, and renamed over the save, whose previous
version is kept as `.prev`; one save runs at a time. Loading takes the save, or the
previous one if the save is unreadable (it is moved aside, never overwritten, and the log says
so), then replays the journal files written after it. A crash therefore loses no write moto
acknowledged (see journal.py for what a power loss can take).
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import os
import tempfile
import threading
import time
from pathlib import Path

from moto.core import DEFAULT_ACCOUNT_ID

from . import journal, moto_lock
from .store_image import StoreImage

log = logging.getLogger("local.store")
SAVE_EVERY = float(os.environ.get("LOCAL_SAVE_SECONDS", "30"))
FORMAT = 2  # 1: no journal, objects as bare base64 bodies


def _backends(region: str):
    from moto.dynamodb.models import dynamodb_backends
    from moto.s3.models import s3_backends

    return dynamodb_backends[DEFAULT_ACCOUNT_ID][region], s3_backends[DEFAULT_ACCOUNT_ID]["aws"]


class LocalStore:
    def __init__(self, paths: dict[str, Path], region: str, table_prefix: str, bucket: str | None):
        self.path = paths["store"]
        self.previous = self.path.with_name(self.path.name + ".prev")
        self.dir = self.path.parent
        self.region, self.prefix, self.bucket = region, table_prefix, bucket
        self.journal: journal.Journal | None = None
        self._save_lock = threading.Lock()
        self._kept_from = 0  # journal files the save at `path` (or, missing, `.prev`) needs
        self.last_save = 0.0
        self.last_pause = 0.0  # seconds the last save held every moto call
        self._image: StoreImage | None = None  # the store as of journal file `_image_to`
        self._image_to = 0

    # -- load -----------------------------------------------------------------------------------
    def load(self) -> int:
        """Restore the last good save and the journal after it into moto's backends (the tables
        and bucket exist already), then journal every write. Returns the items loaded."""
        self._remove_stale_temporaries()
        data = self._read_last_good()
        dynamodb, s3 = _backends(self.region)
        count = 0
        tables, objects = {}, {}
        if data is not None:
            count = self._restore(data, dynamodb, s3)
            self._kept_from = int(data.get("journal_from", 0))
            tables = data["tables"]
            if data.get("bucket") == self.bucket:
                objects = _object_states(data)
        image = StoreImage.of(_key_names(dynamodb, self.prefix), self.bucket, tables, objects)
        records, entries = journal.replay(self.dir, self._kept_from, dynamodb, s3, image.apply)
        if records:
            log.info(
                "replayed %d journal records (%d items and objects) written after the save",
                records,
                entries,
            )
        for table in dynamodb.tables.values():
            if table.stream_shard is not None:
                table.stream_shard.items = []  # restored items are not new changes
        existing = journal.files(self.dir)
        self.journal = journal.Journal(
            self.dir,
            self.prefix,
            self.bucket,
            max([self._kept_from] + [n for n, _ in existing]) + 1,
        )
        journal.activate(self.journal)
        self._image, self._image_to = image, self.journal.seq
        self.last_save = time.time()
        return count + entries

    def _remove_stale_temporaries(self) -> None:
        left = [*self.dir.glob(self.path.name + ".*tmp"), self.path.with_suffix(".tmp")]
        for path in (p for p in left if p.exists()):  # left by a save a crash cut short
            path.unlink(missing_ok=True)
            log.info("removed %s, left by a save that did not finish", path.name)

    def _read_last_good(self) -> dict | None:
        for path in (self.path, self.previous):
            if not path.exists():
                continue
            try:
                data = read(path)
            except Exception as exc:  # noqa: BLE001 - any damage: fall back to the previous save
                aside = path.with_name(f"{path.name}.unreadable-{time.strftime('%Y%m%dT%H%M%S')}")
                os.replace(path, aside)
                log.error(
                    "%s is unreadable (%s: %s); moved it to %s and loading the previous save",
                    path,
                    type(exc).__name__,
                    exc,
                    aside.name,
                )
                continue
            if path == self.previous:
                log.warning("loaded the previous save %s", path)
            return data
        return None

    def _restore(self, data: dict, dynamodb, s3) -> int:
        count = 0
        for name, items in data["tables"].items():
            table = dynamodb.tables.get(name)
            if table is None:
                continue
            for attrs in items:
                table.put_item(attrs, overwrite=True)
            count += len(items)
        bucket = data.get("bucket")
        if data.get("objects") and bucket in s3.buckets:
            for key, state in _object_states(data).items():
                journal.apply({"s": [[bucket, key, state]]}, dynamodb, s3)
            count += len(data["objects"])
        return count

    # -- save -----------------------------------------------------------------------------------
    def save(self) -> int:
        """Write the store as it is now; waits for a save already running. Returns items saved."""
        with self._save_lock:
            if self._image is None or self.journal is None or self.journal.lost:
                return self._save_copy()
            with moto_lock.held():  # the save's moment: the records before it are complete
                paused = time.perf_counter()
                journal_from, old_fd = self.journal.rotate()
                self.last_pause = time.perf_counter() - paused
            os.fsync(old_fd)  # what the save leaves to the journal must outlive a power loss
            os.close(old_fd)
            for seq, path in journal.files(self.dir):
                if self._image_to <= seq < journal_from:
                    for record in journal.read_records(path):
                        self._image.apply(record)
            self._image_to = journal_from
            return self._saved(journal_from)

    def _save_copy(self) -> int:
        """The whole store copied out of moto, every moto call paused meanwhile."""
        dynamodb, s3 = _backends(self.region)
        old_fd = None
        with moto_lock.held():  # no call changes anything until the copy is complete
            paused = time.perf_counter()
            tables = {
                name: [item.to_json()["Attributes"] for item in _items(table)]
                for name, table in list(dynamodb.tables.items())
                if name.startswith(self.prefix)
            }
            objects = _objects(s3, self.bucket)
            journal_from = 0
            if self.journal is not None:
                journal_from, old_fd = self.journal.rotate()
                self.journal.lost = False
            self.last_pause = time.perf_counter() - paused
        if old_fd is not None:
            os.fsync(old_fd)
            os.close(old_fd)
        self._image = StoreImage.of(_key_names(dynamodb, self.prefix), self.bucket, tables, objects)
        self._image_to = journal_from
        return self._saved(journal_from)

    def _saved(self, journal_from: int) -> int:
        self._write(self._image, {"format": FORMAT, "journal_from": journal_from})
        if self.journal is not None:
            self.journal.drop_before(self._kept_from)
        self._kept_from = journal_from
        self.last_save = time.time()
        return self._image.items()

    def _write(self, image: StoreImage, header: dict) -> None:
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=self.dir)
        try:
            with os.fdopen(fd, "wb") as raw:
                with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=3) as fh:
                    image.write(fh, header)
                raw.flush()
                os.fsync(raw.fileno())
            if self.path.exists():  # the save being replaced becomes the previous one
                link = f"{tmp}.prev-tmp"
                os.link(self.path, link)
                os.replace(link, self.previous)
            os.replace(tmp, self.path)
            journal.fsync_dir(self.dir)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def has_changes(self) -> bool:
        return self.journal is None or self.journal.records > 0

    def sync(self) -> None:
        if self.journal is not None:
            self.journal.sync()

    def close(self) -> None:
        """Stop journaling (the files stay for the next load)."""
        if self.journal is not None:
            journal.activate(None)
            self.journal.close()
            self.journal = None


def _object_states(data: dict) -> dict[str, dict]:
    """A save's objects as journal states (format 1 held bare base64 bodies)."""
    return {
        key: {"body": state, "meta": {}} if isinstance(state, str) else state
        for key, state in (data.get("objects") or {}).items()
    }


def _key_names(dynamodb, prefix: str) -> dict[str, tuple[str, ...]]:
    return {
        name: tuple(n for n in (table.hash_key_attr, table.range_key_attr) if n)
        for name, table in dynamodb.tables.items()
        if name.startswith(prefix)
    }


def _items(table) -> list:
    if table.range_key_attr:
        return [item for by_range in table.items.values() for item in by_range.values()]
    return list(table.items.values())


def _objects(s3, bucket: str | None) -> dict[str, dict]:
    from moto.s3.models import FakeKey

    found = s3.buckets.get(bucket) if bucket else None
    if found is None:
        return {}
    return {
        key: {"body": base64.b64encode(obj.value).decode(), "meta": dict(obj.metadata)}
        for key, obj in found.keys.items()
        if isinstance(obj, FakeKey)
    }


def read(path: Path) -> dict:
    """A save's content; raises on a file that is not a complete save."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, dict) or not isinstance(data.get("tables"), dict):
        raise TypeError("not a save of the local store")
    return data
