"""No lost updates: many threads write one profile at once (events, attribute updates, scoring)."""

import threading
import time

from chalicelib.behaviour import apply_events, parse_event
from chalicelib.infra.errors import Conflict
from chalicelib.profile_documents import merge_attributes
from chalicelib.services import scoring_jobs
from chalicelib.storage import profile_table


def as_a_client(write):
    """A 409 (too many concurrent writers) asks the client to retry; it does."""
    for _ in range(20):
        try:
            return write()
        except Conflict:
            time.sleep(0.05)
    raise AssertionError("still conflicting after 20 retries")


def test_concurrent_writers_lose_nothing(project):
    pid, threads, per_thread = "hot", 6, 8
    errors = []

    def events(t):
        try:
            for i in range(per_thread):
                event = parse_event(
                    {
                        "event_id": f"t{t}-{i}",
                        "profile_id": pid,
                        "type": "purchase",
                        "timestamp": "2026-11-01T10:00:00Z",
                        "value": 1.0,
                    },
                    "/",
                )
                as_a_client(
                    lambda: profile_table.add_events(project["id"], pid, [event], apply_events)
                )
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def attributes(t):
        try:
            for i in range(per_thread):
                as_a_client(
                    lambda: profile_table.upsert_attributes(
                        project["id"], pid, {f"a{t}_{i}": i}, merge_attributes
                    )
                )
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    def rescore():
        try:
            for _ in range(3):
                scoring_jobs.score_profiles(project["id"], [pid])
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    workers = [threading.Thread(target=events, args=(t,)) for t in range(threads)]
    workers += [threading.Thread(target=attributes, args=(t,)) for t in range(threads)]
    workers.append(threading.Thread(target=rescore))
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors, errors
    profile = profile_table.get(project["id"], pid)
    assert profile.behaviour["orders"] == threads * per_thread  # every increment survived
    assert profile.behaviour["revenue"] == threads * per_thread * 1.0
    assert len(profile.attributes) == threads * per_thread  # every attribute survived
    # a final score reflects everything
    scoring_jobs.score_profiles(project["id"], [pid])
    assert profile_table.get(project["id"], pid).predictive["clv_past"] == threads * per_thread


def test_an_erasure_among_concurrent_writers_leaves_no_orphan_or_uncounted_event(project):
    """Writers keep sending events while the profile is erased: afterwards every stored event is
    counted by the stored profile and every counted order has its event; nothing from before the
    erasure survives it."""
    from chalicelib.storage.tables import EventModel

    pid, errors, erased = "hot2", [], threading.Event()

    def events(t):
        try:
            for i in range(10):
                event = parse_event(
                    {
                        "event_id": f"t{t}-{i}",
                        "profile_id": pid,
                        "type": "purchase",
                        "timestamp": "2026-11-01T10:00:00Z",
                        "value": 1.0,
                    },
                    "/",
                )
                as_a_client(
                    lambda: profile_table.add_events(project["id"], pid, [event], apply_events)
                )
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    def erase():
        try:
            deadline = time.time() + 30
            while time.time() < deadline:  # once some events are in, while others still come
                profile = profile_table.get(project["id"], pid)
                if profile and profile.behaviour.get("orders", 0) >= 5:
                    break
                time.sleep(0.01)
            if as_a_client(lambda: profile_table.delete(project["id"], pid)):
                erased.set()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    workers = [threading.Thread(target=events, args=(t,)) for t in range(4)]
    workers.append(threading.Thread(target=erase))
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors and erased.is_set(), errors
    stored_events = {e.event_id for e in EventModel.query(f"{project['id']}#{pid}")}
    profile = profile_table.get(project["id"], pid)
    orders = profile.behaviour["orders"] if profile else 0
    assert orders == len(stored_events)  # each stored event counted once, no orphan event
    assert len(stored_events) < 40  # the erasure removed what came before it
