"""Where the CLI finds the local store: the running `make run` stack, or, when none runs, an
in-process moto loaded from the data folder, journaled as it writes, and saved back when the
command ends (saved_state.py)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import time
from pathlib import Path

from ..infra import config

DATA_DIR = Path(os.environ.get("LOCAL_DATA_DIR", ".local"))
REGION = "us-east-1"
TABLE_PREFIX = "local-"
MODEL_BUCKET = "local-models"


def paths(data_dir: Path = None) -> dict[str, Path]:
    d = Path(data_dir or DATA_DIR)
    d.mkdir(parents=True, exist_ok=True)
    return {
        "dir": d,
        "lock": d / "stack.lock",
        "stack": d / "stack.json",
        "store": d / "dynamodb.json.gz",
        "secret": d / "cursor-secret",
        "dev_key": d / "dev-api-key",
    }


def local_environment(p: dict[str, Path], endpoint: str | None) -> None:
    """The settings every local process shares (read lazily by chalicelib.infra.config)."""
    if not p["secret"].exists():
        p["secret"].write_text(secrets.token_urlsafe(32))
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            "TABLE_PREFIX": TABLE_PREFIX,
            "CURSOR_SECRET": p["secret"].read_text().strip(),
            "MODEL_BUCKET": MODEL_BUCKET,
            # webhooks to a receiver on this machine; failed work retried after 2, 4, 8... s
            "ALLOW_PRIVATE_WEBHOOKS": "1",
            "WORK_RETRY_BASE_SECONDS": "2",
            # ad destinations' credentials sealed with a local key (KMS on AWS)
            "CREDENTIALS_KEY_FILE": str(p["dir"] / "credentials.key"),
            # ad audiences are not uploaded unless AD_PLATFORMS_OFFLINE=0 is set for `make run`
            "AD_PLATFORMS_OFFLINE": os.environ.get("AD_PLATFORMS_OFFLINE", "1"),
        }
    )
    for name in ("DYNAMODB_ENDPOINT", "S3_ENDPOINT"):
        if endpoint:
            os.environ[name] = endpoint
        else:
            os.environ.pop(name, None)
    config.reset()


def try_lock(p: dict[str, Path]):
    """The store's lock file, held; None if another process holds it."""
    fh = open(p["lock"], "a+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        return None
    return fh


@contextlib.contextmanager
def local_store(data_dir: Path = None):
    """Use the local store for the duration of a CLI command."""
    p = paths(data_dir)
    lock = try_lock(p)
    if lock is None:  # `make run` is running: talk to its DynamoDB endpoint
        for _ in range(120):  # it writes stack.json once its tables are loaded and seeded
            if p["stack"].exists():
                break
            time.sleep(0.5)
        else:
            raise SystemExit(
                f"{p['dir']} is locked by another process that is not a running "
                "local stack; wait for it to finish"
            )
        stack = json.loads(p["stack"].read_text())
        local_environment(p, stack["endpoint"])
        yield stack
        return
    from moto import mock_aws

    from ..storage.connection import create_tables
    from .moto_lock import serialize_moto_calls

    serialize_moto_calls()
    from ..storage.model_store import ensure_bucket
    from . import saved_state

    saved = None
    try:
        local_environment(p, None)
        with mock_aws():
            create_tables()
            ensure_bucket()
            saved = saved_state.LocalStore(p, REGION, TABLE_PREFIX, MODEL_BUCKET)
            saved.load()
            yield None
            saved.save()
    finally:
        if saved is not None:  # a command that failed half-way: its writes stay in the journal
            saved.close()
        lock.close()
