"""Entries that land late (storage.change_log.landed): a read of the log's tail re-reads only
LOG_MARGIN_SECONDS, so a writer whose entries committed more than IN_FLIGHT_SECONDS after their
stamp writes them again, stamped anew, before it answers; every writer reports its entries."""

import time

import pytest

from chalicelib.storage import (
    bulk_import,
    change_log,
    profile_table,
    profile_writes,
    score_writes,
    table_keys,
)
from chalicelib.storage.tables import ChangeModel


@pytest.fixture
def short_margin(monkeypatch):
    # a margin the test can wait out; the reasoning is the same at 2 s and 3 s
    monkeypatch.setattr(change_log, "IN_FLIGHT_SECONDS", 0.2)
    monkeypatch.setattr(change_log, "LOG_MARGIN_SECONDS", 0.3)


def log_of(pid: str, profile_id: str) -> list[ChangeModel]:
    return [
        e
        for e in ChangeModel.query(pid)
        if table_keys.parse_change_id(e.change_id)[1] == profile_id
    ]


def test_an_entry_that_lands_late_is_written_again_and_the_next_read_finds_it(
    project, short_margin
):
    # GIVEN a write whose entry is stamped, then in flight while a segment answer reads the log
    pid, taken = project["id"], change_log.stamp()
    change_log.since(pid, taken, 1000)
    late = change_log.entry(pid, "slow", kind=change_log.WRITE, version=1, document={"a": 1})
    time.sleep(0.5)
    change_log.since(pid, taken, 1000)  # the tail is now complete past the entry's stamp
    late.save()
    # THEN a read right after the commit misses it: it is older than the margin read again
    assert "slow" not in change_log.since(pid, taken, 1000).changed
    # WHEN the writer reports it landed, as every writer does before answering
    copies = change_log.landed([late])
    # THEN a copy stamped now is written, and the next read sees the write
    assert copies == 1
    assert change_log.since(pid, taken, 1000).documents["slow"] == {"a": 1}
    kept = log_of(pid, "slow")
    assert len(kept) == 2 and {e.kind for e in kept} == {change_log.WRITE}
    assert {int(e.version) for e in kept} == {1}


def test_an_entry_that_lands_in_time_is_not_written_again(project, short_margin):
    entry = change_log.entry(project["id"], "quick", kind=change_log.WRITE, version=1)
    entry.save()
    assert change_log.landed([entry]) == 0
    assert len(log_of(project["id"], "quick")) == 1


def test_a_slow_transaction_of_an_api_write_leaves_a_fresh_copy_before_the_answer(
    api, project, short_margin, monkeypatch
):
    # GIVEN DynamoDB answering a profile write's transaction 0.4 s after it committed
    real = profile_writes.transaction_connection

    class Slow:
        def __init__(self, connection):
            self.connection = connection

        def __getattr__(self, name):
            return getattr(self.connection, name)

        def transact_write_items(self, *args, **kwargs):
            answer = self.connection.transact_write_items(*args, **kwargs)
            time.sleep(0.4)
            return answer

    monkeypatch.setattr(profile_writes, "transaction_connection", lambda: Slow(real()))
    # WHEN a profile is written through the API
    status, _ = api.put("/profiles/p1", {"attributes": {"country": "NL"}})
    # THEN the log holds its write entry twice: as stamped, and again once it had landed
    assert status == 201
    kept = log_of(project["id"], "p1")
    assert [e.kind for e in kept] == [change_log.WRITE, change_log.WRITE]
    assert kept[0].document == kept[1].document


def _bulk_import(pid):
    items = [("imported", {"country": "BE"}, [])]
    bulk_import.import_profiles(pid, items, lambda old, new: {**old, **new}, lambda b, ev: b or {})


def _score(pid):
    profile = profile_table.get(pid, "p1")
    score_writes.write_scores([(profile, {"conversion_potential": 40}, None)])


WRITERS = {
    "one profile": lambda api, pid: api.put("/profiles/p2", {"attributes": {"country": "BE"}}),
    "a batch of profiles": lambda api, pid: api.post(
        "/profiles", {"profiles": [{"profile_id": "p3", "attributes": {"country": "DE"}}]}
    ),
    "events": lambda api, pid: api.post(
        "/events",
        {
            "events": [
                {
                    "event_id": "e1",
                    "profile_id": "p4",
                    "type": "page_view",
                    "timestamp": "2026-02-01T09:00:00Z",
                }
            ]
        },
    ),
    "an erasure": lambda api, pid: api.delete("/profiles/p1"),
    "scores": lambda api, pid: _score(pid),
    "a CLI import": lambda api, pid: _bulk_import(pid),
}


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_every_writer_reports_the_entries_it_wrote(api, project, monkeypatch, writer):
    # GIVEN a profile, and every report of landed entries watched
    api.put("/profiles/p1", {"attributes": {"country": "NL"}})
    before = {e.change_id for e in ChangeModel.query(project["id"])}
    reported = []
    real = change_log.landed
    monkeypatch.setattr(
        change_log, "landed", lambda entries: reported.extend(entries) or real(entries)
    )
    # WHEN the writer writes
    WRITERS[writer](api, project["id"])
    # THEN each entry it added to the log was reported once committed
    added = {e.change_id for e in ChangeModel.query(project["id"])} - before
    assert added and added <= {e.change_id for e in reported}
