"""Import speed of `python -m chalicelib.cli import-transactions` (issue 3: a 70,000-row log of
23,000 customers in under a minute). Generates the log (seeded), imports it into a fresh local
store with the CLI (progress shown), imports it again (every row a duplicate), and prints the
times.

    .venv/bin/python bench/import_speed.py [--rows 70000 --customers 23000]
"""

import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=70_000)
    parser.add_argument("--customers", type=int, default=23_000)
    args = parser.parse_args()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "log.csv"
        with open(log, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["customer_id", "timestamp", "amount", "order_id"])
            for i in range(args.rows):
                customer = i if i < args.customers else rng.randrange(args.customers)
                day = date(2025, 1, 1) + timedelta(days=rng.randrange(365))
                writer.writerow(
                    [f"c{customer}", day.isoformat(), round(rng.lognormvariate(3, 1), 2), f"o{i}"]
                )
        env = {**os.environ, "LOCAL_DATA_DIR": str(Path(tmp) / "store")}
        for label in ("first import", "same file again"):
            started = time.time()
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "chalicelib.cli",
                    "import-transactions",
                    str(log),
                    "--project",
                    "speed",
                ],
                cwd=ROOT,
                env=env,
                text=True,
                stdout=subprocess.PIPE,
            )
            elapsed = time.time() - started
            print(result.stdout.strip().splitlines()[-1])
            print(
                f"{label}: {args.rows} rows, {args.customers} customers in {elapsed:.1f}s "
                f"(CLI process, store load and save included)"
            )


if __name__ == "__main__":
    main()
