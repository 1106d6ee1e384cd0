"""The local store (chalicelib/local/saved_state.py, journal.py): a save is one consistent moment,
written atomically however many saves run at once; a damaged save never stops a start; and a
write moto acknowledged outlives a kill -9 of the process."""

import gzip
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager

import pytest
from conftest import ROOT
from moto import mock_aws

from chalicelib.infra import config
from chalicelib.local import journal
from chalicelib.local.moto_lock import serialize_moto_calls
from chalicelib.local.saved_state import LocalStore
from chalicelib.services import events as event_service
from chalicelib.storage import profile_table
from chalicelib.storage.connection import create_tables
from chalicelib.storage.model_store import ensure_bucket
from chalicelib.storage.tables import EventModel

PROJECT = "shop"


@contextmanager
def moto():
    """A fresh, empty moto with the service's tables and bucket: a process starting."""
    config.reset()
    serialize_moto_calls()
    with mock_aws():
        create_tables(wait=False)
        ensure_bucket()
        yield


def store_at(data_dir):
    data_dir.mkdir(exist_ok=True)
    return LocalStore(
        {"store": data_dir / "dynamodb.json.gz"},
        "us-east-1",
        config.settings().table_prefix,
        config.settings().model_bucket,
    )


@contextmanager
def started(data_dir):
    """moto loaded from data_dir, journaling; closed without a save (as a crash would)."""
    with moto():
        store = store_at(data_dir)
        store.load()
        try:
            yield store
        finally:
            store.close()


def send(profile_id, event_ids):
    result = event_service.ingest(
        PROJECT,
        {
            "events": [
                {
                    "event_id": e,
                    "profile_id": profile_id,
                    "type": "page_view",
                    "timestamp": "2026-11-01T10:00:00Z",
                }
                for e in event_ids
            ]
        },
    )
    assert result["rejected"] == 0, result
    return result


def stored_events(profile_id):
    return EventModel.count(f"{PROJECT}#{profile_id}")


def page_views(profile_id):
    model = profile_table.get(PROJECT, profile_id)
    return (model.behaviour or {}).get("page_views", 0) if model else 0


def test_two_saves_at_once_both_complete_and_the_file_loads(tmp_path):
    # GIVEN a store with events of 20 profiles
    data = tmp_path / "data"
    with started(data) as store:
        for p in range(20):
            send(f"p{p}", [f"e{p}-{i}" for i in range(3)])
        # WHEN two threads save at once, several times (Ctrl-C during the periodic save)
        errors = []

        def saves():
            try:
                for _ in range(5):
                    store.save()
            except Exception as exc:  # noqa: BLE001 - the test reports any failure
                errors.append(exc)

        threads = [threading.Thread(target=saves) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # THEN every save completed and no temporary file is left
        assert errors == []
        assert sorted(p.name for p in data.iterdir() if "tmp" in p.name) == []
    # AND the save alone (no journal) holds every event
    for name in os.listdir(data):
        if name.startswith("journal-"):
            os.unlink(data / name)
    with started(data):
        assert sum(stored_events(f"p{p}") for p in range(20)) == 60


def test_a_save_racing_writes_is_one_moment(tmp_path):
    # GIVEN writers adding events one by one (each with its profile's counter, in one transaction)
    data, copies = tmp_path / "data", []
    with started(data) as store:
        stop, errors = threading.Event(), []

        def writer(w):
            i = 0
            try:
                while not stop.is_set():
                    send(f"w{w}-{i % 5}", [f"w{w}-{i}"])
                    i += 1
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
        for t in threads:
            t.start()
        # WHEN the store is saved while they write
        for n in range(6):
            store.save()
            copies.append(tmp_path / f"copy{n}")
            copies[-1].mkdir()
            shutil.copy(data / "dynamodb.json.gz", copies[-1] / "dynamodb.json.gz")
        stop.set()
        for t in threads:
            t.join()
        assert errors == []
    # THEN each save, loaded alone, has every profile's counter equal to its stored events
    for copy in copies:
        with started(copy):
            for w in range(3):
                for k in range(5):
                    assert page_views(f"w{w}-{k}") == stored_events(f"w{w}-{k}"), copy.name


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_an_unreadable_save_starts_from_the_previous_one(tmp_path, caplog, damage):
    # GIVEN two saves, events after them, and the newest save damaged
    data = tmp_path / "data"
    with started(data) as store:
        send("a", ["a1"])
        store.save()
        send("b", ["b1"])
        store.save()
        send("c", ["c1"])
    good = (data / "dynamodb.json.gz").read_bytes()
    (data / "dynamodb.json.gz").write_bytes(
        {"truncated": good[: len(good) // 2], "garbage": os.urandom(500), "empty": b""}[damage]
    )
    # WHEN the store starts
    caplog.set_level(logging.INFO)
    with started(data) as store:
        # THEN it has everything, from the previous save and the journal after it
        assert [stored_events(p) for p in "abc"] == [1, 1, 1]
        assert [page_views(p) for p in "abc"] == [1, 1, 1]
        # AND said what it did, and kept the damaged file aside
        assert "unreadable" in caplog.text and "previous save" in caplog.text
        assert [p.name for p in data.glob("dynamodb.json.gz.unreadable-*")]
        store.save()
    with started(data):  # the next start is clean
        assert [stored_events(p) for p in "abc"] == [1, 1, 1]


def test_a_damaged_save_without_a_previous_one_still_starts(tmp_path, caplog):
    # GIVEN a data folder whose only save is not gzip (and no journal)
    data = tmp_path / "data"
    data.mkdir()
    (data / "dynamodb.json.gz").write_text("not a save")
    # WHEN the store starts THEN it starts empty and says why
    with started(data) as store:
        assert stored_events("a") == 0
        send("a", ["a1"])
        store.save()
    assert "unreadable" in caplog.text
    with started(data):
        assert stored_events("a") == 1


def test_a_journal_record_cut_short_is_dropped_and_later_writes_are_kept(tmp_path, caplog):
    # GIVEN a journal whose last record a kill cut short
    data = tmp_path / "data"
    with started(data):
        send("a", ["a1"])
        send("b", ["b1"])
    newest = journal.files(data)[-1][1]
    newest.write_bytes(newest.read_bytes()[:-7])
    # WHEN the store starts, writes, and is killed again before any save
    with started(data):
        # THEN the complete records are back and the cut one is gone whole (its transaction)
        assert (stored_events("a"), page_views("a")) == (1, 1)
        assert (stored_events("b"), page_views("b")) == (0, 0)
        send("c", ["c1"])
    assert "dropped" in caplog.text
    with started(data):  # the write after the cut one is not hidden behind it
        assert [stored_events(p) for p in "abc"] == [1, 0, 1]


def test_objects_keep_their_metadata_across_a_save_and_the_journal(tmp_path):
    import boto3

    data = tmp_path / "data"
    with started(data) as store:
        s3 = boto3.client("s3")
        bucket = config.settings().model_bucket
        s3.put_object(
            Bucket=bucket, Key="saved", Body=b"1", ContentType="text/csv", Metadata={"rows": "1"}
        )
        store.save()
        s3.put_object(Bucket=bucket, Key="journaled", Body=b"2", ContentType="text/csv")
        s3.delete_object(Bucket=bucket, Key="saved")
        s3.put_object(Bucket=bucket, Key="saved", Body=b"3", Metadata={"rows": "3"})
    with started(data):
        head = s3.head_object(Bucket=bucket, Key="saved")
        assert s3.get_object(Bucket=bucket, Key="saved")["Body"].read() == b"3"
        assert head["Metadata"] == {"rows": "3"}
        assert s3.head_object(Bucket=bucket, Key="journaled")["ContentType"] == "text/csv"


WRITER = """
import os, sys
from chalicelib.local import session
from chalicelib.local.saved_state import LocalStore
from moto import mock_aws
from chalicelib.local.moto_lock import serialize_moto_calls
from chalicelib.storage.connection import create_tables
from chalicelib.storage.model_store import ensure_bucket
from chalicelib.services import events
p = session.paths(sys.argv[1])
session.local_environment(p, None)
serialize_moto_calls()
with mock_aws():
    create_tables(wait=False)
    ensure_bucket()
    store = LocalStore(p, session.REGION, session.TABLE_PREFIX, session.MODEL_BUCKET)
    store.load()
    print("loaded", flush=True)
    i = 0
    while True:
        events.ingest("shop", {"events": [{"event_id": f"e{i}", "profile_id": f"p{i % 7}",
                      "type": "page_view", "timestamp": "2026-11-01T10:00:00Z"}]})
        print("acked", i, flush=True)
        i += 1
"""


def test_writes_acknowledged_before_a_kill_9_are_kept(tmp_path):
    # GIVEN a process writing events one by one, with no save after its start
    data = tmp_path / "data"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") and k not in ("TABLE_PREFIX", "CURSOR_SECRET")
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(data)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    acked = -1
    for line in proc.stdout:  # WHEN it is killed (SIGKILL) after 40 acknowledged writes
        if line.startswith("acked"):
            acked = int(line.split()[1])
            if acked >= 40:
                proc.send_signal(signal.SIGKILL)
                break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL and not (data / "dynamodb.json.gz").exists()
    # THEN a restart has every acknowledged event, each counted once on its profile
    os.environ["TABLE_PREFIX"], prefix = "local-", os.environ["TABLE_PREFIX"]
    os.environ["MODEL_BUCKET"] = "local-models"
    try:
        with started(data):
            stored = sum(stored_events(f"p{k}") for k in range(7))
            assert acked + 1 <= stored <= acked + 2  # and at most the one in flight
            assert sum(page_views(f"p{k}") for k in range(7)) == stored
    finally:
        os.environ["TABLE_PREFIX"] = prefix
        del os.environ["MODEL_BUCKET"]
        config.reset()


def test_format_1_saves_still_load(tmp_path):
    # GIVEN a save written before the journal existed (objects as bare base64 bodies)
    import base64
    import json

    data = tmp_path / "data"
    data.mkdir()
    with moto():
        table = config.settings().table_prefix + "projects"
        bucket = config.settings().model_bucket
        with gzip.open(data / "dynamodb.json.gz", "wt") as fh:
            json.dump(
                {
                    "format": 1,
                    "tables": {table: [{"project_id": {"S": "old"}}]},
                    "bucket": bucket,
                    "objects": {"m": base64.b64encode(b"x").decode()},
                },
                fh,
            )
    # WHEN it loads THEN its items and objects are there
    with started(data):
        import boto3

        from chalicelib.storage import project_table

        assert project_table.get_project("old") is not None
        assert boto3.client("s3").get_object(Bucket=bucket, Key="m")["Body"].read() == b"x"


def test_a_save_after_load_holds_what_moto_holds_without_copying_it(tmp_path, monkeypatch):
    """GIVEN a store saved and loaded again (its image built at load) WHEN items are added,
    changed in place by updates, deleted, written in transactions, and objects put and deleted,
    then saved THEN the save holds exactly what moto holds, item for item, and the save did not
    copy moto's tables (it folded the journal into the last save)."""
    from moto.dynamodb.models.dynamo_type import Item

    from chalicelib.local import saved_state
    from chalicelib.storage import model_store

    data = tmp_path / "data"
    with started(data) as store:
        for p in range(10):
            send(f"p{p}", [f"e{p}-{i}" for i in range(2)])
        store.save()
    with started(data) as store:
        copies, to_json = [], Item.to_json
        monkeypatch.setattr(Item, "to_json", lambda item: copies.append(1) or to_json(item))
        for p in range(5, 15):  # new profiles, and updates of stored ones in place
            send(f"p{p}", [f"f{p}-{i}" for i in range(3)])
        EventModel.get(f"{PROJECT}#p2", "e2-0").delete()
        s3 = model_store.s3_client()
        bucket = config.settings().model_bucket
        s3.put_object(Bucket=bucket, Key="a/kept", Body=b"kept")
        s3.put_object(Bucket=bucket, Key="a/gone", Body=b"gone")
        s3.delete_object(Bucket=bucket, Key="a/gone")
        journaled = len(copies)
        store.save()
        assert len(copies) == journaled  # the save itself copied nothing out of moto
        dynamodb, s3_backend = saved_state._backends("us-east-1")
        expected = {
            name: sorted(
                json.dumps(i.to_json()["Attributes"], sort_keys=True)
                for i in saved_state._items(table)
            )
            for name, table in dynamodb.tables.items()
            if name.startswith(store.prefix)
        }
        objects = saved_state._objects(s3_backend, bucket)
    saved = saved_state.read(data / "dynamodb.json.gz")
    assert {
        name: sorted(json.dumps(i, sort_keys=True) for i in items)
        for name, items in saved["tables"].items()
    } == expected
    assert saved["objects"] == objects and "a/kept" in objects and "a/gone" not in objects
