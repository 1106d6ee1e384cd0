"""Peak memory of merging a rescore's shard parts into one snapshot (audience.column_merge):
64 sorted columnar parts of 10 million rows in all, with the columns a snapshot has (scaled
numbers, text codes, booleans, a date, a list), built straight as numpy arrays. Peak resident
memory from resource.getrusage (the whole process: the parts, the merge, the result).

    .venv/bin/python bench/merge_memory.py [--rows 10000000 --parts 64]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chalicelib.audience import column_merge  # noqa: E402
from chalicelib.rules.column_encoding import Column, Snapshot  # noqa: E402


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def part(ids: list[str], rng) -> Snapshot:
    n = len(ids)
    present = np.ones(n, bool)
    lengths = rng.integers(0, 4, n)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    columns = {
        "predictive.conversion_potential": Column(
            "number", present, rng.integers(0, 1000, n).astype(np.int16), 1
        ),
        "predictive.clv": Column("number", present, rng.integers(0, 10**6, n).astype(np.int32), 2),
        "predictive.clv_predicted": Column(
            "number", present, rng.integers(0, 10**6, n).astype(np.int32), 2
        ),
        "behaviour.orders": Column("number", present, rng.integers(0, 50, n).astype(np.int16), 0),
        "behaviour.revenue": Column("number", present, rng.random(n) * 1000, -1),
        "attributes.country": Column(
            "text",
            present,
            rng.integers(0, 5, n).astype(np.int8),
            dictionary=["BE", "DE", "FR", "GB", "NL"],
        ),
        "predictive.customer_type": Column(
            "enum", present, rng.integers(0, 6, n).astype(np.int8), dictionary=list("abcdef")
        ),
        "attributes.newsletter": Column("boolean", present, rng.integers(0, 2, n).astype(np.int8)),
        "behaviour.last_seen": Column(
            "date", present, rng.integers(0, 10**8, n).astype(np.int32), 0, 946684800.0
        ),
        "attributes.tags": Column(
            "list",
            present,
            rng.integers(0, 20, int(offsets[-1])).astype(np.int8),
            dictionary=[f"t{i:02d}" for i in range(20)],
            offsets=offsets,
            is_list=np.ones(n, bool),
        ),
    }
    return Snapshot(np.array(ids, dtype=object), columns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--parts", type=int, default=64)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    started = time.time()
    shards: list[list[str]] = [[] for _ in range(args.parts)]
    for i in range(args.rows):
        pid = f"v{i:09d}"
        shards[zlib.crc32(pid.encode()) % args.parts].append(pid)
    parts = [part(sorted(ids), rng) for ids in shards]
    del shards
    part_bytes = sum(p.nbytes() for p in parts)
    before = peak_mib()
    print(
        f"{args.parts} parts, {args.rows:,} rows, columns {part_bytes / 2**20:.0f} MiB, built in "
        f"{time.time() - started:.0f} s; peak so far {before:,.0f} MiB"
    )
    started = time.time()
    merged = column_merge.merge(parts)
    del parts
    seconds = time.time() - started
    assert merged.n == args.rows and (merged.profile_ids[1:] > merged.profile_ids[:-1]).all()
    print(
        f"merged in {seconds:.0f} s; peak resident memory of the process {peak_mib():,.0f} MiB "
        f"({peak_mib() / 1024:.2f} GiB), {merged.nbytes() / 2**20:.0f} MiB of columns"
    )
    started = time.time()
    blob = merged.to_bytes()
    print(
        f"serialised ({len(blob) / 2**20:.0f} MiB) in {time.time() - started:.0f} s; peak "
        f"{peak_mib():,.0f} MiB ({peak_mib() / 1024:.2f} GiB)"
    )


if __name__ == "__main__":
    main()
