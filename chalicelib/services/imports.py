"""Importing a transaction log: one purchase event per row, the customer id as profile id."""

from __future__ import annotations

import csv
import hashlib
from collections import Counter, defaultdict
from functools import partial
from pathlib import Path
from typing import Callable

from ..behaviour import apply_events, parse_event
from ..infra.errors import ValidationError
from ..profile_documents import merge_attributes
from ..storage import bulk_import
from .project_settings import event_settings

REQUIRED = {"customer_id", "timestamp", "amount"}
# the event field each CSV column becomes: an error on the event names the column the user wrote
COLUMN_OF_FIELD = {"event_id": "order_id", "profile_id": "customer_id", "value": "amount"}


def read_transactions(path: Path) -> dict[str, list]:
    """Rows grouped by customer as validated purchase events. A row's event id is its order_id,
    or a hash of the row (and its repeat count), so importing the same file twice is a no-op."""
    by_customer: dict[str, list] = defaultdict(list)
    seen: Counter = Counter()
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = REQUIRED - set(reader.fieldnames or [])
        if missing:
            raise ValidationError(f"the CSV header lacks {sorted(missing)}", "/header", "missing")
        for line, row in enumerate(reader, start=2):
            try:
                amount = float(row["amount"])
            except (TypeError, ValueError):
                raise ValidationError(
                    f"line {line}: amount {row['amount']!r} is not a number", f"/line/{line}/amount"
                ) from None
            key = (row["customer_id"], row["timestamp"], row["amount"])
            seen[key] += 1
            event_id = (
                row.get("order_id")
                or "tx-" + hashlib.sha1("|".join((*key, str(seen[key]))).encode()).hexdigest()[:20]
            )
            raw = {
                "event_id": event_id,
                "profile_id": row["customer_id"],
                "type": "purchase",
                "timestamp": row["timestamp"],
                "value": amount,
            }
            try:
                by_customer[row["customer_id"]].append(parse_event(raw, f"/line/{line}"))
            except ValidationError as exc:
                field = exc.path.rsplit("/", 1)[-1]
                column = COLUMN_OF_FIELD.get(field, field)
                # "profile_id must be ..." reads "customer_id must be ..."; others get the column first
                message = exc.message
                if message.startswith(field):
                    message = column + message[len(field) :]
                else:
                    message = f"{column}: {message}"
                raise ValidationError(
                    f"line {line}: {message}", f"/line/{line}/{column}", exc.code
                ) from None
    return by_customer


def import_grouped(
    project_id: str,
    by_customer: dict[str, list],
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    items = ((customer, {}, events) for customer, events in by_customer.items())
    aggregate = partial(apply_events, settings=event_settings(project_id))  # time zone
    totals = bulk_import.import_profiles(project_id, items, merge_attributes, aggregate, progress)
    return {"customers": len(by_customer), **totals}
