"""DynamoDB read/write units and S3 requests per preview, per rescore and per day, for 1 and 10
million profiles, computed from the sizes of real items (a generated visitor, scored by the
default model, serialised as the service stores it). Prints the table of docs/cost.md.

    .venv/bin/python bench/cost_model.py [--events-per-profile-per-day 0.1]
"""

import argparse
import json
import math
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chalicelib import synthetic  # noqa: E402
from chalicelib.behaviour import apply_events, parse_event  # noqa: E402
from chalicelib.predict import artifact  # noqa: E402
from chalicelib.predict.scoring import score  # noqa: E402
from chalicelib.profile_documents import profile_document, segmentable_document  # noqa: E402


def item_bytes(attrs: dict) -> int:
    """DynamoDB item size: attribute names plus values (strings as UTF-8, numbers ~ digits/2)."""
    size = 0
    for name, value in attrs.items():
        size += len(name.encode())
        size += len(value.encode()) if isinstance(value, str) else (len(str(value)) + 1) // 2 + 1
    return size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events-per-profile-per-day", type=float, default=0.1)
    parser.add_argument("--changed-share-per-rescore", type=float, default=0.05)
    parser.add_argument("--snapshot-refreshes-per-day", type=int, default=24)
    parser.add_argument(
        "--events-per-changed-profile",
        type=float,
        nargs="+",
        default=[1, 5],
        help="events that arrive for a profile between two snapshots: 1 is the "
        "worst case for the overlay, 5 a typical visit",
    )
    args = parser.parse_args()
    visitors = synthetic.generate(500, seed=9, days=120)
    behaviours = [apply_events(None, [parse_event(e, "/") for e in v.events]) for v in visitors]
    scores = score(behaviours, artifact.default_model(), date.today())
    sizes = sorted(
        item_bytes(
            {
                "pk": "project-name#007",
                "profile_id": v.profile_id,
                "project_id": "project-name",
                "attributes": json.dumps(v.attributes),
                "behaviour": json.dumps(b),
                "predictive": json.dumps(s),
                "created_at": "2026-11-28T10:00:00Z",
                "updated_at": "2026-11-28T10:00:00Z",
                "version": 12,
            }
        )
        for v, b, s in zip(visitors, behaviours, scores)
    )
    profile = sizes[len(sizes) // 2]
    p90 = sizes[int(0.9 * len(sizes))]
    event = item_bytes(
        {
            "pk": "project-name#v000123",
            "event_id": "evt-0123456789",
            "data": json.dumps(
                {
                    "type": "page_view",
                    "timestamp": "2026-11-28T10:00:00Z",
                    "received_at": "2026-11-28T10:00:01Z",
                }
            ),
        }
    )
    key = {
        "project_id": "project-name",
        "change_id": "2026-11-28T10:00:00.123456Z#v000123",
        "expires": 1764000000,
    }
    hint = item_bytes(key)
    documents = [
        segmentable_document(
            profile_document(
                v.profile_id, v.attributes, b, sc, "2026-11-28T10:00:00Z", "2026-11-28T10:00:00Z"
            )
        )
        for v, b, sc in zip(visitors, behaviours, scores)
    ]
    writes = sorted(
        item_bytes({**key, "kind": "write", "version": 12, "doc": json.dumps(d)}) for d in documents
    )
    preds = sorted(
        item_bytes(
            {
                **key,
                "kind": "predictive",
                "version": 12,
                "doc": json.dumps(d),  # the profile as scored (storage/score_writes.py)
            }
        )
        for d in documents
    )
    write_entry, pred_entry = writes[len(writes) // 2], preds[len(preds) // 2]
    # what a changed profile leaves in the change log per event: the write's entry (in its
    # transaction), then the trigger's score entry (in the score's transaction)
    change = write_entry + pred_entry
    rcu = lambda b: math.ceil(b / 4096)  # noqa: E731  strongly consistent read unit per 4 KB
    wcu = lambda b: math.ceil(b / 1024)  # noqa: E731  write unit per 1 KB
    print(
        f"item sizes: profile median {profile} B (p90 {p90} B), event {event} B, change "
        f"entries: write {write_entry} B, hint {hint} B, score {pred_entry} B; snapshot ~25 B a "
        "profile\n"
    )
    print(
        f"{'profiles':>10} {'ev/prof':>7} {'full scan RCU':>14} {'preview RCU':>12} {'preview/scan':>13} "
        f"{'rescore RCU':>12} {'rescore WCU':>12} {'events/day':>11} {'WCU/day':>12} "
        f"{'RCU/day':>12} {'S3 req/day':>11}"
    )
    for n, per_profile in [
        (n, k) for n in (1_000_000, 10_000_000) for k in args.events_per_changed_profile
    ]:
        scan = n * profile / 4096  # a query returns items packed into 4 KB units
        events = n * args.events_per_profile_per_day
        # distinct profiles changed since the last snapshot, on average
        changes_since = min(n, events / per_profile / args.snapshot_refreshes_per_day)
        # preview: project item, the change log since the snapshot (per event: a write entry and
        # a score entry), the profiles changed in the 2 minutes before the snapshot
        # (re-read: the log cannot tell them from the snapshot rows), 10 sample profiles
        margin = min(n, events / per_profile * 120 / 86400)
        preview = (
            1
            + rcu(changes_since * per_profile * change)
            + margin * rcu(profile)
            + 10 * rcu(profile)
        )
        rescore_reads = scan
        changed = n * args.changed_share_per_rescore
        # score update + entry in transactions (double units)
        rescore_writes = changed * 2 * (wcu(profile) + wcu(pred_entry))
        # each event: a transaction (2x) of its event, the profile and a change entry, then the
        # stream trigger reads the profile and writes its score with its entry (a transaction)
        per_event_wcu = 2 * (wcu(event) + wcu(profile) + wcu(write_entry)) + 2 * (
            wcu(profile) + wcu(pred_entry)
        )
        per_event_rcu = 2 * rcu(profile)
        day_wcu = events * per_event_wcu + rescore_writes
        day_rcu = events * per_event_rcu + rescore_reads + args.snapshot_refreshes_per_day * scan
        s3 = 2 * args.snapshot_refreshes_per_day + 2  # snapshot PUT + pointer; cold-start GETs
        print(
            f"{n:>10,} {per_profile:>7g} {scan:>14,.0f} {preview:>12,.0f} {100 * preview / scan:>12.2f}% "
            f"{rescore_reads:>12,.0f} {rescore_writes:>12,.0f} {events:>11,.0f} "
            f"{day_wcu:>12,.0f} {day_rcu:>12,.0f} {s3:>11}"
        )
    print(
        f"\nassumptions: {args.events_per_profile_per_day} events a profile a day; 'ev/prof' "
        "events per changed profile between snapshots (1: worst case for the overlay); "
        f"snapshot refreshed {args.snapshot_refreshes_per_day}x a day; "
        f"{100 * args.changed_share_per_rescore:.0f}% of profiles change per rescore; "
        "strongly consistent reads (eventually consistent: half the RCU)"
    )


if __name__ == "__main__":
    main()
