"""Saves and restores the local DynamoDB (moto's in-memory backend) to a gzip'd JSON file.

Writes go to a temporary file renamed over the old one, so a crash mid-save keeps the previous
save. What a crash loses: the writes since the last save (the stack saves every SAVE_EVERY
seconds and on shutdown).
"""
from __future__ import annotations

import base64
import gzip
import json
import os
import time
from pathlib import Path

from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

SAVE_EVERY = 30


def _backend(region: str):
    return dynamodb_backends[DEFAULT_ACCOUNT_ID][region]


def _snapshot_items(table) -> list[dict]:
    for _ in range(10):  # the server thread may change the dicts while we copy them
        try:
            return [item.to_json()["Attributes"] for item in list(table.all_items())]
        except RuntimeError:
            time.sleep(0.05)
    raise RuntimeError(f"could not copy table {table.name}: it kept changing")


def _bucket_objects(bucket: str) -> dict[str, str]:
    """Every object of the local bucket (models: small), base64-encoded. Needs moto active."""
    import boto3
    s3 = boto3.client("s3")
    out = {}
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                out[obj["Key"]] = base64.b64encode(body).decode()
    except s3.exceptions.NoSuchBucket:
        pass
    return out


def save(path: Path, region: str, prefix: str, bucket: str | None = None) -> int:
    backend = _backend(region)
    data = {name: _snapshot_items(table) for name, table in list(backend.tables.items())
            if name.startswith(prefix)}
    objects = _bucket_objects(bucket) if bucket else {}
    tmp = path.with_suffix(".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=3) as fh:
        json.dump({"format": 1, "tables": data, "bucket": bucket, "objects": objects}, fh,
                  separators=(",", ":"))
        fh.flush()
    os.replace(tmp, path)
    return sum(len(items) for items in data.values())


def restore(path: Path, region: str) -> int:
    """Load a save into tables that already exist (create them first). Returns items loaded."""
    if not path.exists():
        return 0
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        data = json.load(fh)
    backend = _backend(region)
    count = 0
    for name, items in data["tables"].items():
        table = backend.tables.get(name)
        if table is None:
            continue
        for attrs in items:
            table.put_item(attrs, overwrite=True)
        if table.stream_shard is not None:
            table.stream_shard.items = []  # restored items are not new changes
        count += len(items)
    if data.get("objects"):
        import boto3
        s3 = boto3.client("s3")
        for key, body in data["objects"].items():
            s3.put_object(Bucket=data["bucket"], Key=key, Body=base64.b64decode(body))
        count += len(data["objects"])
    return count
