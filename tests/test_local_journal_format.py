"""The journal's record format (local/journal.py): a JSON header then the items' texts, so a
save folds records into its image without parsing the items; records of the first format (one
JSON document) still load."""

import json
import zlib

from test_local_store import page_views, send, started, stored_events

from chalicelib.local import journal


def _first_format(record: dict) -> bytes:
    """A record as the first format wrote it."""
    return json.dumps(
        {
            "d": [
                [t, json.loads(key), json.loads(item) if item is not None else None]
                for t, key, item in record["d"]
            ],
            "s": record["s"],
        },
        separators=(",", ":"),
    ).encode()


def test_a_journal_of_the_first_format_still_loads(tmp_path):
    # GIVEN a journal written in the first format (a store from before this version)
    data = tmp_path / "data"
    with started(data):
        send("a", ["a1", "a2"])
        send("b", ["b1"])
    for _, path in journal.files(data):
        records = journal.read_records(path)
        framed = b""
        for record in records:
            payload = _first_format(record)
            framed += journal.HEADER.pack(len(payload), zlib.crc32(payload)) + payload
        path.write_bytes(framed)
    # WHEN the store starts again THEN every write is back
    with started(data) as store:
        assert [stored_events(p) for p in "ab"] == [2, 1]
        assert [page_views(p) for p in "ab"] == [2, 1]
        store.save()  # and a save folds those records too
    with started(data):
        assert [stored_events(p) for p in "ab"] == [2, 1]


def test_a_save_parses_record_headers_only(tmp_path, monkeypatch):
    # GIVEN a store saved once, then 30 profiles written
    data = tmp_path / "data"
    with started(data) as store:
        store.save()
        for p in range(30):
            send(f"p{p}", [f"e{p}"])
        records = sum(len(journal.read_records(path)) for _, path in journal.files(data))
        parsed = []
        loads = json.loads
        monkeypatch.setattr(journal.json, "loads", lambda text: parsed.append(text) or loads(text))
        # WHEN it is saved
        store.save()
        monkeypatch.setattr(journal.json, "loads", loads)
    # THEN one parse a record, of its header: no item (a profile's behaviour) is parsed
    assert records >= 30 and len(parsed) == records
    assert not [text for text in parsed if b"page_views" in text]
    # and the save holds the writes
    with started(data):
        assert [stored_events(f"p{p}") for p in range(30)] == [1] * 30
