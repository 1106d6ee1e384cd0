"""The command line's commands for the shop-side sources (chalicelib.cli registers them): the
write keys of a project's Segment-compatible source and the secret of its Shopify webhooks."""

from __future__ import annotations

import sys


def cmd_create_write_key(args):
    from .storage import source_keys

    write_key, record = source_keys.create_write_key(args.project)
    print(f"write key id: {record.key_id}")
    print(f"write key: {write_key}")
    print("(shown once: only its hash is stored)")


def cmd_list_write_keys(args):
    from .storage import source_keys

    for record in source_keys.list_write_keys(args.project):
        state = "revoked" if record.revoked else "active"
        print(f"{record.key_id}  created {record.created_at}  {state}")


def cmd_rotate_write_key(args):
    from .storage import source_keys

    write_key, record = source_keys.rotate_write_key(args.project, args.key_id)
    print(f"revoked {args.key_id}; new write key id: {record.key_id}")
    print(f"write key: {write_key}")
    print("(shown once: only its hash is stored)")


def cmd_revoke_write_key(args):
    from .storage import source_keys

    if not source_keys.revoke_write_key(args.project, args.key_id):
        raise SystemExit(f"no write key {args.key_id} in project {args.project}")
    print(f"revoked {args.key_id}")


def cmd_set_shopify_secret(args):
    from .storage import source_keys

    secret = args.secret if args.secret is not None else sys.stdin.readline().strip()
    if not secret:
        raise SystemExit("the secret is empty (pass --secret or one line on stdin)")
    source_keys.set_shopify_secret(args.project, secret)
    print(f"Shopify webhooks of {args.project} are verified with the new secret")


def add_commands(command) -> None:
    """Add the source commands through cli.build_parser's `command(name, func, help)`."""
    p = command(
        "create-write-key",
        cmd_create_write_key,
        "create a write key for the project's Segment-compatible source (printed once)",
    )
    p.add_argument("--project", required=True)
    p = command("list-write-keys", cmd_list_write_keys, "list a project's write keys (ids only)")
    p.add_argument("--project", required=True)
    p = command(
        "rotate-write-key",
        cmd_rotate_write_key,
        "replace a write key: a new one is created (printed once), then the old one revoked",
    )
    p.add_argument("--project", required=True)
    p.add_argument("key_id")
    p = command("revoke-write-key", cmd_revoke_write_key, "revoke a write key; it stops at once")
    p.add_argument("--project", required=True)
    p.add_argument("key_id")
    p = command(
        "set-shopify-secret",
        cmd_set_shopify_secret,
        "set the secret Shopify signs the project's webhooks with (read from stdin without "
        "--secret)",
    )
    p.add_argument("--project", required=True)
    p.add_argument("--secret")
