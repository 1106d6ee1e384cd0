"""The costliest rule body the limits allow, timed on both evaluators: 200 nodes and close to
65,536 bytes. 50 conditions, each under its own `none` group, in 25 `any` pairs under an `any`
root: every condition is true for most profiles, so every group is false and nothing
short-circuits; `not_in` lists as long as the byte limit lets them be. The other 74 groups are
empty or chained, which both evaluators fold away (rules.simplified). Also how fast over-limit
bodies are refused.

    .venv/bin/python bench/rule_limits.py [--profiles 1000000] [--walk 20000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.segment_engine import CATALOGUE, NOW, absent, generate, timed  # noqa: E402
from chalicelib.infra.errors import ValidationError  # noqa: E402
from chalicelib.rules import compile_rules, parse_segment  # noqa: E402
from chalicelib.rules.columnar import Snapshot, build_column, compile_mask  # noqa: E402
from chalicelib.rules.tree import MAX_DEFINITION_BYTES  # noqa: E402


def worst_body() -> dict:
    money = [round(100000 + i * 0.37, 2) for i in range(500)]  # ~8 bytes a value
    countries = [f"X{i:03d}" for i in range(500)]
    # conditions true for most profiles, each under a `none`: false, so nothing short-circuits
    kinds = [
        ("behaviour.revenue", "not_in", money),
        ("predictive.clv", "not_in", money),
        ("attributes.country", "not_in", countries),
        ("attributes.country", "not_contains", "Z" * 1000),
        ("behaviour.last_seen", "between", ["2000-01-01", "2030-01-01"]),
        ("predictive.conversion_potential", "between", [0, 100]),
        ("attributes.country", "not_contains", "QQ"),
        ("behaviour.sessions", "neq", -1),
        ("predictive.customer_type", "not_in", ["Believer"]),
        ("attributes.newsletter", "exists", None),
    ]
    conditions = [
        {"field": f, "operator": o, **({} if v is None else {"value": v})} for f, o, v in kinds
    ] * 5
    negated = [{"match": "none", "rules": [c]} for c in conditions]
    pairs = [{"match": "any", "rules": negated[i : i + 2]} for i in range(0, 50, 2)]
    # the other 74 nodes: a chain of groups 5 deep and empty groups, which evaluation folds away
    chain = {
        "match": "any",
        "rules": [
            {"match": "all", "rules": [{"match": "any", "rules": [{"match": "any", "rules": []}]}]}
        ],
    }  # false, as the empty groups are
    empties = [{"match": "any", "rules": []} for _ in range(74 - 4)]
    body = {"name": "worst", "match": "any", "rules": pairs + [chain] + empties}
    while len(json.dumps(body, separators=(",", ":"))) > MAX_DEFINITION_BYTES:
        for c in conditions:  # trim the lists until the body fits
            if (
                isinstance(c.get("value"), list)
                and len(c["value"]) > 2
                and c["operator"] != "between"
            ):
                c["value"] = c["value"][:-1]
    return body


def nodes(node: dict) -> int:
    return 1 + sum(nodes(r) for r in node["rules"]) if "rules" in node else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--walk", type=int, default=20_000, help="profiles for the per-profile run")
    args = parser.parse_args()
    data = generate(args.profiles)
    fields = {f.path: f for f in CATALOGUE}
    snapshot = Snapshot(
        np.array([f"p{i}" for i in range(args.profiles)], dtype=object),
        {p: build_column(fields[p].type, absent(v)) for p, v in data.items()},
    )
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
    assert walked == int(np.count_nonzero(compile_mask(root, NOW)(snapshot)[: args.walk]))
    print(
        f"worst body within the limits: {size:,} bytes, {nodes(body)} nodes, 50 conditions; "
        f"{count:,} of {args.profiles:,} profiles match"
    )
    print(f"  parse and check: {t_parse * 1e3:.1f} ms")
    print(
        f"  columnar, {args.profiles:,} profiles: {t_mask * 1e3:.1f} ms "
        "(compilation included, median of 5)"
    )
    print(
        f"  per profile, {args.walk:,} profiles: {t_walk * 1e3:.1f} ms = "
        f"{t_walk / args.walk * 1e6:.1f} us a profile (median of 3)"
    )
    for name, hostile in [
        ("76,000 empty groups", {"name": "x", "rules": [{"rules": []}] * 76_000}),
        (
            "in with 500 values of 1,000 characters",
            {
                "name": "x",
                "rules": [
                    {
                        "field": "attributes.country",
                        "operator": "in",
                        "value": [f"{i:04d}" + "x" * 996 for i in range(500)],
                    }
                ],
            },
        ),
    ]:
        started = time.perf_counter()
        try:
            parse_segment(hostile, CATALOGUE)
        except ValidationError as exc:
            print(
                f"  refused {name}: {exc.code} at {exc.path} in "
                f"{(time.perf_counter() - started) * 1e3:.1f} ms"
            )


if __name__ == "__main__":
    main()
