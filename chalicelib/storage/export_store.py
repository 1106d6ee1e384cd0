"""Segment export files in S3, in the model bucket under exports/<project>/<export_id>.<ext>.

Each object carries its creation time (user metadata `created-at`, ISO 8601 UTC), its download
file name and its row counts. Exports live a day: the download route refuses older ones, and the
bucket should have the lifecycle rule LIFECYCLE_RULE (expire `exports/` after 1 day) so S3 deletes
them too. It is not applied from here: PutBucketLifecycleConfiguration replaces the bucket's
whole configuration, so it belongs to the deployment, next to any other rule of the bucket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from botocore.exceptions import ClientError

from .connection import bind
from .model_store import ensure_bucket, s3_client

EXPORT_TTL = timedelta(days=1)
LIFECYCLE_RULE = {
    "ID": "expire-segment-exports",
    "Status": "Enabled",
    "Filter": {"Prefix": "exports/"},
    "Expiration": {"Days": 1},
}


@dataclass(frozen=True)
class StoredExport:
    key: str
    size: int
    created_at: datetime
    content_type: str
    filename: str
    rows: int | None
    skipped: int | None


def _prefix(project_id: str) -> str:
    return f"exports/{project_id}/"


def key_of(project_id: str, export_id: str, ext: str) -> str:
    return f"{_prefix(project_id)}{export_id}.{ext}"


def _iso(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _disposition(filename: str) -> str:
    return f'attachment; filename="{filename}"'


def put(
    project_id: str,
    export_id: str,
    ext: str,
    body: bytes,
    content_type: str,
    filename: str,
    created_at: datetime,
    rows: int,
    skipped: int,
) -> str:
    key = key_of(project_id, export_id, ext)

    def write():
        s3_client().put_object(
            Bucket=bind().model_bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            ContentDisposition=_disposition(filename),
            Metadata={
                "created-at": _iso(created_at),
                "filename": filename,
                "rows": str(rows),
                "skipped": str(skipped),
            },
        )

    try:
        write()
    except ClientError as error:
        if not _missing(error):
            raise
        ensure_bucket()  # a fresh local store or test: no bucket yet (deployed, it exists)
        write()
    return key


def _missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in ("NoSuchBucket", "NoSuchKey", "404")


def find(project_id: str, export_id: str) -> StoredExport | None:
    """The stored export of this project with this id, or None."""
    s3, bucket = s3_client(), bind().model_bucket
    try:
        listed = s3.list_objects_v2(
            Bucket=bucket, Prefix=f"{_prefix(project_id)}{export_id}.", MaxKeys=10
        )
        contents = listed.get("Contents") or []
        if not contents:
            return None
        head = s3.head_object(Bucket=bucket, Key=contents[0]["Key"])
    except ClientError as error:
        if _missing(error):
            return None
        raise
    meta = head.get("Metadata") or {}
    try:
        created_at = datetime.strptime(meta["created-at"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=timezone.utc
        )
    except (KeyError, ValueError):
        created_at = head["LastModified"]

    def count(name):
        value = meta.get(name, "")
        return int(value) if value.isdigit() else None

    return StoredExport(
        key=contents[0]["Key"],
        size=int(head["ContentLength"]),
        created_at=created_at,
        content_type=head.get("ContentType") or "application/octet-stream",
        filename=meta.get("filename") or contents[0]["Key"].rsplit("/", 1)[-1],
        rows=count("rows"),
        skipped=count("skipped"),
    )


def read(key: str) -> bytes:
    return s3_client().get_object(Bucket=bind().model_bucket, Key=key)["Body"].read()


def presign(key: str, filename: str, seconds: int) -> str:
    """A URL that downloads the file without an API key for `seconds` (signed with the caller's
    credentials: temporary ones, such as a Lambda role's, end it sooner when they expire)."""
    return s3_client().generate_presigned_url(
        "get_object",
        ExpiresIn=seconds,
        Params={
            "Bucket": bind().model_bucket,
            "Key": key,
            "ResponseContentDisposition": _disposition(filename),
        },
    )


def erase_stored_exports(project_id: str) -> int:
    """Delete every stored export file of the project (exports are regenerable; an erased
    profile must not stay downloadable from an export made before its erasure). Returns how
    many files it deleted. A presigned URL given out before stops working with its object."""
    s3, bucket = s3_client(), bind().model_bucket
    deleted = 0
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=_prefix(project_id)
        ):
            keys = [{"Key": item["Key"]} for item in page.get("Contents") or []]
            for start in range(0, len(keys), 1000):
                answer = s3.delete_objects(
                    Bucket=bucket, Delete={"Objects": keys[start : start + 1000], "Quiet": True}
                )
                if answer.get("Errors"):  # erasure must not pass silently half done
                    raise RuntimeError(
                        f"could not delete {len(answer['Errors'])} export files "
                        f"of {project_id}: {answer['Errors'][0]}"
                    )
                deleted += len(keys[start : start + 1000])
    except ClientError as error:
        if _missing(error):
            return deleted
        raise
    return deleted


__all__ = [
    "EXPORT_TTL",
    "LIFECYCLE_RULE",
    "StoredExport",
    "erase_stored_exports",
    "find",
    "key_of",
    "presign",
    "put",
    "read",
]
