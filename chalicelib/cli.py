"""Operator command line: `python -m chalicelib.cli --help`.

Works on the local store whether or not `make run` is running (chalicelib.local.session); with
`--aws` it works on the tables of the configured AWS account (TABLE_PREFIX, AWS_REGION, ...).
"""
from __future__ import annotations

import argparse
import contextlib
import sys

from .errors import ServiceError
from .validation import check_project_id


def _store(args):
    if args.aws:
        return contextlib.nullcontext()
    from .local.session import local_store
    return local_store()


def cmd_create_project(args):
    from .storage import keys
    check_project_id(args.project, "--project")
    keys.create_project(args.project, args.name or args.project)
    print(f"created project {args.project}")


def cmd_create_key(args):
    from .storage import keys
    api_key, record = keys.create_key(args.project)
    print(f"key id: {record.key_id}")
    print(f"API key: {api_key}")
    print("(shown once: only its hash is stored)")


def cmd_list_keys(args):
    from .storage import keys
    for record in keys.list_keys(args.project):
        print(f"{record.key_id}  created {record.created_at}  "
              f"{'revoked' if record.revoked else 'active'}")


def cmd_revoke_key(args):
    from .storage import keys
    if not keys.revoke_key(args.key_id):
        raise SystemExit(f"no key {args.key_id}")
    print(f"revoked {args.key_id}")


def cmd_list_projects(args):
    from .storage import keys
    for project in keys.list_projects():
        print(f"{project.project_id}  {project.name}  created {project.created_at}")


def cmd_seed_demo(args):
    from .local import demo
    demo.ensure_project(args.project)
    totals = demo.seed(args.project, args.profiles, args.seed)
    print(totals)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--aws", action="store_true",
                        help="use the configured AWS account instead of the local store")
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
    p = command("list-keys", cmd_list_keys, "list a project's keys (ids, not the keys)")
    p.add_argument("--project", required=True)
    p = command("revoke-key", cmd_revoke_key, "revoke a key by its id; it stops working at once")
    p.add_argument("key_id")
    p = command("seed-demo", cmd_seed_demo, "add generated demo profiles to a project")
    p.add_argument("--project", default="demo")
    p.add_argument("--profiles", type=int, default=2000)
    p.add_argument("--seed", type=int, default=7)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with _store(args):
            args.func(args)
    except ServiceError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
