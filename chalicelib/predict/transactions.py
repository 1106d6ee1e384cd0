"""Transaction logs (the CDNOW sample format, or CSV `customer_id,timestamp,amount[,order_id]`)
as behaviour documents with a purchases-by-day history, for training and benchmarks."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date
from pathlib import Path


def read_cdnow(path: Path, before: date | None = None) -> list[tuple[str, date, float]]:
    """(customer, day, amount) rows of the CDNOW sample, optionally only those before a date."""
    rows = []
    for line in Path(path).read_text().splitlines():
        parts = line.split()
        if len(parts) != 5:
            continue
        day = date(int(parts[2][:4]), int(parts[2][4:6]), int(parts[2][6:]))
        if before is None or day < before:
            rows.append((parts[1], day, float(parts[4])))
    return rows


def read_csv(path: Path) -> list[tuple[str, date, float]]:
    with open(path, newline="") as fh:
        return [
            (r["customer_id"], date.fromisoformat(r["timestamp"][:10]), float(r["amount"]))
            for r in csv.DictReader(fh)
        ]


def behaviours(rows: list[tuple[str, date, float]]) -> tuple[list[str], list[dict]]:
    """Customers and their behaviour documents (purchases only: day -> [orders, amount])."""
    purchases: dict[str, dict[str, list]] = defaultdict(dict)
    for customer, day, amount in rows:
        slot = purchases[customer].setdefault(day.isoformat(), [0, 0.0])
        slot[0] += 1
        slot[1] = round(slot[1] + amount, 2)
    ids = sorted(purchases)
    return ids, [{"purchases": purchases[c]} for c in ids]
