"""The change log's tail as a process last read it (storage.change_log._tail): a segment answer
reads only what was written since, yet sees every write, and a backdated score entry within
TAIL_FRESH_SECONDS; what an erasure deleted leaves memory too."""

from datetime import datetime, timedelta, timezone

from chalicelib.storage import batch, change_log
from chalicelib.storage.tables import ChangeModel


def ago(seconds: float) -> str:
    moment = datetime.now(timezone.utc) - timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write(pid, profile, at=None, kind=change_log.WRITE, version=1, country="BE"):
    change_log.record(pid, profile, at, kind, version, {"attributes": {"country": country}})


def read_starts(monkeypatch) -> list[str]:
    """The key each query of the log starts at (whole, or keys only), as the test goes."""
    starts, query, keys = [], ChangeModel.query, batch.range_keys_from

    def spy(hash_key, range_key_condition=None, **kwargs):
        starts.append(range_key_condition.values[1].value["S"])  # change_id >= start
        return query(hash_key, range_key_condition, **kwargs)

    def spy_keys(model, hash_value, start):
        starts.append(start)
        return keys(model, hash_value, start)

    monkeypatch.setattr(ChangeModel, "query", spy)
    monkeypatch.setattr(batch, "range_keys_from", spy_keys)
    return starts


def test_a_second_answer_reads_only_the_newer_entries_and_sees_them(project, monkeypatch):
    # GIVEN a snapshot taken a minute ago, and 30 profiles written since
    pid, taken = project["id"], ago(600)
    for i in range(30):
        write(pid, f"p{i:02d}")
    starts = read_starts(monkeypatch)
    first = change_log.since(pid, taken, 1000)
    # WHEN one more profile is written and another changed, then the log is read again
    write(pid, "p99")
    write(pid, "p03", version=2, country="NL")
    second = change_log.since(pid, taken, 1000)
    # THEN the second read starts near now, not at the snapshot, and sees both writes
    assert len(first.documents) == 30 and first.entries == 30
    assert second.entries == 32 and second.documents["p99"] is not None
    assert second.documents["p03"]["attributes"]["country"] == "NL"
    assert starts[1] > starts[0] and starts[1] >= ago(change_log.LOG_MARGIN_SECONDS + 5)


def test_the_limit_counts_what_the_tail_holds(project):
    pid, taken = project["id"], ago(600)
    for i in range(5):
        write(pid, f"p{i}")
    assert change_log.since(pid, taken, 5).entries == 5
    write(pid, "p5")
    assert change_log.since(pid, taken, 5) is None


def test_a_backdated_score_entry_shows_once_the_tail_is_read_again_whole(project, monkeypatch):
    # GIVEN a tail just read, then a rescore's score entry backdated before it (before_snapshot)
    pid, taken = project["id"], ago(900)
    write(pid, "p1")
    change_log.since(pid, taken, 1000)
    write(pid, "p1", at=ago(300), kind=change_log.PREDICTIVE, version=1)
    # WHEN the tail is older than TAIL_FRESH_SECONDS
    monkeypatch.setattr(change_log, "TAIL_FRESH_SECONDS", 0)
    overlay = change_log.since(pid, taken, 1000)
    # THEN the backdated entry is read
    assert overlay.entries == 2


def test_an_erasure_drops_the_profiles_entries_from_the_tail(project):
    # GIVEN a tail that holds a profile's document
    pid, taken = project["id"], ago(600)
    write(pid, "gone", country="secret")
    write(pid, "kept")
    change_log.since(pid, taken, 1000)
    # WHEN the profile is erased and the log read again
    change_log.erase(pid, "gone")
    overlay = change_log.since(pid, taken, 1000)
    # THEN the profile reads as erased and its document is not held in the process any more
    assert overlay.documents["gone"] is None and overlay.documents["kept"] is not None
    held = change_log._tails[pid].entries.values()
    assert [e for e in held if e[1] == "gone"] == [e for e in held if e[2] == change_log.ERASED]


def test_the_margin_read_again_carries_keys_only_and_new_entries_come_by_key(project, monkeypatch):
    """GIVEN a tail of 40 entries written within the margin (each read again on the next read)
    WHEN two more are written and the log is read again THEN only the two new entries' documents
    are read (the 40 in the margin come back as keys), and the answer sees all 42."""
    monkeypatch.setattr(change_log, "LOG_MARGIN_SECONDS", 30)  # however slow the machine
    pid, taken = project["id"], ago(600)
    for i in range(40):
        write(pid, f"p{i:02d}")
    change_log.since(pid, taken, 1000)
    documents, keys, get = [], batch.range_keys_from, batch.get

    def spy_keys(*args, **kwargs):
        found = keys(*args, **kwargs)
        documents.extend(False for _ in found)
        return found

    def spy_get(model, keys, *args, **kwargs):
        found = get(model, keys, *args, **kwargs)
        documents.extend(item.document is not None for item in found)
        return found

    monkeypatch.setattr(batch, "range_keys_from", spy_keys)
    monkeypatch.setattr(batch, "get", spy_get)
    write(pid, "p98")
    write(pid, "p99")
    second = change_log.since(pid, taken, 1000)
    assert second.entries == 42 and second.documents["p99"] is not None
    assert sum(documents) == 2 and len(documents) == 44  # 42 keys, 2 documents


def test_the_keys_listed_are_the_querys_keys_across_pages(project):
    """GIVEN 700 entries of 2 KB (more than one 1 MB page of a query) WHEN the keys from a
    point on are listed THEN they are exactly the keys a query returns, in order."""
    from chalicelib.storage import batch

    pid = project["id"]
    entries = [
        change_log.entry(
            pid, f"p{i:03d}", kind=change_log.WRITE, version=1, document={"x": "y" * 2000}
        )
        for i in range(700)
    ]
    batch.write(ChangeModel, entries)
    start = sorted(e.change_id for e in entries)[50]
    listed = batch.range_keys_from(ChangeModel, pid, start)
    queried = [e.change_id for e in ChangeModel.query(pid, ChangeModel.change_id >= start)]
    assert len(listed) == 650 and listed == queried


def test_a_later_start_drops_what_the_tail_held_before_it(project):
    """GIVEN a tail read from long ago (30 entries, then 2 more after a moment) WHEN it is read
    from that moment on (a newer snapshot's start) THEN the answer and what the tail holds are
    the 2 entries: an answer does not walk what came before its snapshot."""
    pid = project["id"]
    for i in range(30):
        write(pid, f"p{i:02d}")
    moment = change_log.stamp()
    write(pid, "q1")
    write(pid, "q2")
    assert len(change_log._tail(pid, ago(600), None)) == 32
    later = change_log._tail(pid, moment, None)
    assert [profile for _, profile, *_ in later] == ["q1", "q2"]
    assert len(change_log._tails[pid].entries) == 2 and len(change_log._tails[pid].keys) == 2
