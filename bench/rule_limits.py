"""The costliest rule body the limits allow, timed on both evaluators: 199 nodes (the segment,
50 conditions, 148 groups that do not simplify away, 5 deep) and close to 65,536 bytes; most
conditions are false for most profiles under an `any` root, so little short-circuits; `in` lists
as long as the byte limit lets them be. Also how fast over-limit bodies are refused.

    .venv/bin/python bench/rule_limits.py [--profiles 1000000] [--walk 20000]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.segment_engine import CATALOGUE, NOW, absent, generate  # noqa: E402
from chalicelib.errors import ValidationError  # noqa: E402
from chalicelib.segments import compile_rules, parse_segment  # noqa: E402
from chalicelib.segments.columnar import Snapshot, build_column, compile_mask  # noqa: E402
from chalicelib.segments.rules import MAX_DEFINITION_BYTES  # noqa: E402


def worst_body() -> dict:
    money = [round(100000 + i * 0.37, 2) for i in range(500)]  # ~8 bytes a value
    countries = [f"X{i:03d}" for i in range(500)]
    kinds = [
        ("behaviour.revenue", "in", money), ("predictive.clv", "in", money),
        ("attributes.country", "in", countries), ("attributes.country", "contains", "Z" * 1000),
        ("behaviour.last_seen", "between", ["2001-01-01", "2001-02-01"]),
        ("predictive.conversion_potential", "between", [101, 200]),
        ("attributes.country", "ends_with", "QQ"), ("behaviour.sessions", "eq", -1),
        ("predictive.customer_type", "in", ["Believer"]), ("predictive.persuasion_type", "eq", "Authority"),
    ]
    conditions = [{"field": f, "operator": o, "value": v} for f, o, v in kinds] * 5
    # 150 groups that do not fold away: `none` groups in pairs around conditions (each pair is
    # the condition again), 4 around 24 conditions (5 deep with the root), 2 around the others:
    # with the root, 199 nodes
    def wrapped(condition: dict, pairs: int) -> dict:
        for _ in range(2 * pairs):
            condition = {"match": "none", "rules": [condition]}
        return condition
    rules = [wrapped(c, 2 if i < 24 else 1) for i, c in enumerate(conditions)]
    body = {"name": "worst", "match": "any", "rules": rules}
    while len(json.dumps(body, separators=(",", ":"))) > MAX_DEFINITION_BYTES:
        for c in conditions:  # trim the lists until the body fits
            if isinstance(c["value"], list) and len(c["value"]) > 2 and c["operator"] != "between":
                c["value"] = c["value"][:-1]
    return body


def nodes(node: dict) -> int:
    return 1 + sum(nodes(r) for r in node["rules"]) if "rules" in node else 1


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--walk", type=int, default=20_000, help="profiles for the per-profile run")
    args = parser.parse_args()
    data = generate(args.profiles)
    fields = {f.path: f for f in CATALOGUE}
    snapshot = Snapshot(np.array([f"p{i}" for i in range(args.profiles)], dtype=object),
                        {p: build_column(fields[p].type, absent(v)) for p, v in data.items()})
    body = worst_body()
    size = len(json.dumps(body, separators=(",", ":")))
    t_parse, definition = timed(lambda: parse_segment(body, CATALOGUE), 5)
    root = definition.root
    t_mask, count = timed(lambda: int(np.count_nonzero(compile_mask(root, NOW)(snapshot))), 5)
    documents = []
    for i in range(args.walk):
        doc = {"profile_id": f"p{i}"}
        for path, values in data.items():
            group, name = path.split(".")
            if values[i] is not None:
                doc.setdefault(group, {})[name] = values[i]
        documents.append(doc)
    predicate = compile_rules(root, NOW)
    t_walk, walked = timed(lambda: sum(map(predicate, documents)), 3)
    assert walked == int(np.count_nonzero(compile_mask(root, NOW)(snapshot)[:args.walk]))
    print(f"worst body within the limits: {size:,} bytes, {nodes(body)} nodes, 50 conditions; "
          f"{count:,} of {args.profiles:,} profiles match")
    print(f"  parse and check: {t_parse * 1e3:.1f} ms")
    print(f"  columnar, {args.profiles:,} profiles: {t_mask * 1e3:.1f} ms "
          "(compilation included, median of 5)")
    print(f"  per profile, {args.walk:,} profiles: {t_walk * 1e3:.1f} ms = "
          f"{t_walk / args.walk * 1e6:.1f} us a profile (median of 3)")
    for name, hostile in [
        ("76,000 empty groups", {"name": "x", "rules": [{"rules": []}] * 76_000}),
        ("in with 500 values of 1,000 characters", {"name": "x", "rules": [
            {"field": "attributes.country", "operator": "in",
             "value": [f"{i:04d}" + "x" * 996 for i in range(500)]}]}),
    ]:
        started = time.perf_counter()
        try:
            parse_segment(hostile, CATALOGUE)
        except ValidationError as exc:
            print(f"  refused {name}: {exc.code} at {exc.path} in "
                  f"{(time.perf_counter() - started) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
