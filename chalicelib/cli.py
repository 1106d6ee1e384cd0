"""Operator command line: `python -m chalicelib.cli --help`.

Works on the local store whether or not `make run` is running (chalicelib.local.session); with
`--aws` it works on the tables of the configured AWS account (TABLE_PREFIX, AWS_REGION, ...).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import sys
import time
from pathlib import Path

from . import source_cli
from .infra.errors import ServiceError
from .predict import fields as predictive_fields
from .validation import check_project_id


def _store(args):
    if args.aws:
        return contextlib.nullcontext()
    from .local.session import local_store

    return local_store()


def cmd_create_project(args):
    from .storage import project_table

    check_project_id(args.project, "--project")
    project_table.create_project(args.project, args.name or args.project)
    print(f"created project {args.project}")


def cmd_create_key(args):
    from .storage import project_table

    api_key, record = project_table.create_key(args.project, args.rate, args.burst)
    print(f"key id: {record.key_id}  {_limits(record)}")
    print(f"API key: {api_key}")
    print("(shown once: only its hash is stored)")


def cmd_list_keys(args):
    from .storage import project_table

    for record in project_table.list_keys(args.project):
        print(
            f"{record.key_id}  created {record.created_at}  "
            f"{'revoked' if record.revoked else 'active'}  {_limits(record)}"
        )


def _limits(record) -> str:
    return f"limits {record.rate_limit:g} requests/s, bursts of {record.burst}"


def cmd_set_key_limits(args):
    from .storage import project_table

    record = project_table.set_key_limits(args.key_id, args.rate, args.burst)
    if record is None:
        raise SystemExit(f"no key {args.key_id}")
    print(f"{record.key_id}  {_limits(record)}")


def cmd_revoke_key(args):
    from .storage import project_table

    if not project_table.revoke_key(args.key_id):
        raise SystemExit(f"no key {args.key_id}")
    print(f"revoked {args.key_id}")


def cmd_rotate_key(args):
    from .storage import project_table

    api_key, record = project_table.rotate_key(args.project, args.key_id)
    print(f"revoked {args.key_id}; new key id: {record.key_id}")
    print(f"API key: {api_key}")
    print("(shown once: only its hash is stored)")


def cmd_segments(args):
    from .services import segments

    for segment in segments.list_all(args.project)["segments"]:
        size = (
            ""
            if args.no_count
            else f"  {segments.count(args.project, segment['segment_id'])['count']:,} members"
        )
        print(f"{segment['segment_id']}  {segment['name']!r}  match {segment['match']}{size}")


def cmd_segment_count(args):
    from .services import segments

    result = segments.count(args.project, args.segment_id)
    print(
        json.dumps(
            {k: result[k] for k in ("count", "scored", "expected_conversions", "expected_value")}
        )
    )


def cmd_list_projects(args):
    from .storage import project_table

    for project in project_table.list_projects():
        print(f"{project.project_id}  {project.name}  created {project.created_at}")


def cmd_seed_demo(args):
    from .local import demo

    demo.ensure_project(args.project)
    totals = demo.seed(args.project, args.profiles, args.seed)
    print(totals)


def _date(text: str):
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


class Progress:
    """A one-line progress bar on stderr (a running count when the total is not known)."""

    def __init__(self, total: int | None, unit: str):
        self.total, self.unit, self.started = total, unit, time.time()
        self.shown = -1

    def __call__(self, done: int, *extra) -> None:
        if self.total is None:
            rate = done / max(time.time() - self.started, 1e-9)
            print(f"\r{done:,} {self.unit} ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)
            return
        percent = 100 * done // max(self.total, 1)
        if percent == self.shown:
            return
        self.shown = percent
        width = 30
        filled = int(width * done / max(self.total, 1))
        rate = done / max(time.time() - self.started, 1e-9)
        print(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} {self.unit} "
            f"({rate:,.0f}/s)",
            end="",
            file=sys.stderr,
            flush=True,
        )
        if done >= self.total:
            print(file=sys.stderr)


def _ensure_project(project_id: str) -> None:
    from .storage import project_table

    check_project_id(project_id, "--project")
    if project_table.get_project(project_id) is None:
        project_table.create_project(project_id)
        print(f"created project {project_id}")


def cmd_import_transactions(args):
    from .services import imports

    _ensure_project(args.project)
    started = time.time()
    by_customer = imports.read_transactions(args.file)
    rows = sum(len(v) for v in by_customer.values())
    print(f"read {rows} transactions of {len(by_customer)} customers")
    totals = imports.import_grouped(
        args.project, by_customer, Progress(len(by_customer), "customers")
    )
    print(json.dumps({**totals, "seconds": round(time.time() - started, 1)}))


def cmd_train(args):
    from .services import scoring_jobs

    result = scoring_jobs.train(
        args.project,
        args.as_of,
        args.conversion_horizon_days,
        args.clv_horizon_days,
        args.churn_horizon_days,
    )
    print(json.dumps(result, indent=2, default=str))


def cmd_rescore(args):
    from .services import scoring_jobs

    result = scoring_jobs.rescore_project(
        args.project,
        args.as_of,
        "rescore",
        args.conversion_horizon_days,
        args.clv_horizon_days,
        progress=Progress(None, "profiles rescored"),
    )
    print(file=sys.stderr)
    print(json.dumps(result, indent=2))


def cmd_snapshot(args):
    from .audience.builder import snapshot_project

    print(json.dumps(snapshot_project(args.project)))


EXPORT_FIELDS = predictive_fields.NAMES  # every predictive field, in its declared order


def cmd_export(args):
    from .storage import profile_table

    count = 0
    with open(args.out, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(("profile_id",) + EXPORT_FIELDS)
        for _, profile in profile_table.iter_profiles(args.project):
            p = profile.predictive or {}
            writer.writerow((profile.profile_id,) + tuple(p.get(f, "") for f in EXPORT_FIELDS))
            count += 1
    print(f"wrote {count} profiles to {args.out}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m chalicelib.cli",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--aws",
        action="store_true",
        help="use the configured AWS account instead of the local store",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name, func, help_text):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    p = command("create-project", cmd_create_project, "create a project (tenant)")
    p.add_argument("--project", required=True)
    p.add_argument("--name")
    command("list-projects", cmd_list_projects, "list projects")
    p = command("create-key", cmd_create_key, "create an API key for a project (printed once)")
    p.add_argument("--project", required=True)
    p.add_argument("--rate", type=float, help="requests per second (default 200)")
    p.add_argument("--burst", type=int, help="requests at once after a quiet moment (default 400)")
    p = command("set-key-limits", cmd_set_key_limits, "change a key's request rate and burst")
    p.add_argument("key_id")
    p.add_argument("--rate", type=float, help="requests per second")
    p.add_argument("--burst", type=int, help="requests at once after a quiet moment")
    p = command("list-keys", cmd_list_keys, "list a project's keys (ids, not the keys)")
    p.add_argument("--project", required=True)
    p = command("revoke-key", cmd_revoke_key, "revoke a key by its id; it stops working at once")
    p.add_argument("key_id")
    p = command(
        "rotate-key",
        cmd_rotate_key,
        "replace a key: a new key is created (printed once), then the old one is revoked",
    )
    p.add_argument("--project", required=True)
    p.add_argument("key_id")
    source_cli.add_commands(command)
    p = command("segments", cmd_segments, "list a project's segments with their sizes")
    p.add_argument("--project", required=True)
    p.add_argument("--no-count", action="store_true", help="skip the sizes (faster)")
    p = command(
        "segment-count",
        cmd_segment_count,
        "a segment's size, expected conversions and expected value",
    )
    p.add_argument("--project", required=True)
    p.add_argument("segment_id")
    p = command(
        "import-transactions",
        cmd_import_transactions,
        "import a CSV transaction log (header customer_id,timestamp,amount[,order_id]): "
        "one purchase event per row, the customer id as profile id; re-importing the "
        "same file changes nothing",
    )
    p.add_argument("file", type=Path)
    p.add_argument("--project", required=True)
    for name, func, text in (
        (
            "train",
            cmd_train,
            "train the project's own model on its history before --as-of; "
            "it replaces the current model only if it wins the backtest",
        ),
        ("rescore", cmd_rescore, "rescore every profile of the project as of a date"),
    ):
        p = command(name, func, text)
        p.add_argument("--project", required=True)
        p.add_argument("--as-of", type=_date, required=True, help="YYYY-MM-DD")
        p.add_argument("--conversion-horizon-days", type=int)
        p.add_argument("--clv-horizon-days", type=int)
        if name == "train":  # the churn model is fitted at its horizon; a rescore serves it
            p.add_argument("--churn-horizon-days", type=int)
    p = command(
        "snapshot",
        cmd_snapshot,
        "refresh the project's columnar snapshot (segment answers) without rescoring",
    )
    p.add_argument("--project", required=True)
    p = command("export", cmd_export, "write profile_id and every predictive field to a CSV")
    p.add_argument("--project", required=True)
    p.add_argument("--out", type=Path, required=True)
    p = command("seed-demo", cmd_seed_demo, "add generated demo profiles to a project")
    p.add_argument("--project", default="demo")
    p.add_argument("--profiles", type=int, default=2000)
    p.add_argument("--seed", type=int, default=7)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with _store(args):
            from .storage.connection import bind

            bind()  # before any command's first call: the store's endpoint and table prefix
            args.func(args)
    except ServiceError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
