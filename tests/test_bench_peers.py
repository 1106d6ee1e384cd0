"""The engine benchmarks compare our masks with peers written by hand over the same data
(bench/segment_engine.py: numpy over the encoded columns, and DuckDB SQL, a bench-only
dependency); a bench stops when the counts differ. The numpy peer must mean what the rules
mean: when the day operators began counting whole days (rules/day_window.py), the peers still
started "within the last 90 days" at NOW - 90 days, and `make bench-engine` stopped on the nested
segment (15,838 against 15,890 of 1,000,000) without a test noticing."""

import numpy as np

from chalicelib.rules import parse_segment
from chalicelib.rules.columnar import Snapshot, build_column, compile_mask
from tests.script_loader import load_script


def test_the_hand_written_peer_counts_what_the_engine_counts():
    """GIVEN 200,000 generated profiles WHEN each benchmark segment is evaluated by the engine
    and by the hand-written numpy peer THEN the members are the same rows."""
    bench = load_script("bench/segment_engine.py")
    n = 200_000
    data = bench.generate(n)
    fields = {f.path: f for f in bench.CATALOGUE}
    columns = {p: build_column(fields[p].type, bench.absent(v)) for p, v in data.items()}
    snapshot = Snapshot(np.array([f"p{i}" for i in range(n)], dtype=object), columns)
    peers = bench.hand_written(snapshot)
    for name, body in bench.SEGMENTS.items():
        root = parse_segment({"name": name, **body}, bench.CATALOGUE).root
        ours = compile_mask(root, bench.NOW)(snapshot)
        np.testing.assert_array_equal(ours, peers[name](), err_msg=name)
