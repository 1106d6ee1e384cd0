"""Project models in S3 (the skops artifact and its JSON metadata), and which one a project uses."""

from __future__ import annotations

import json

from .connection import aws_client, bind
from .tables import ProjectModel


def s3_client():
    return aws_client("s3", bind().s3_endpoint)


def _key(project_id: str, version: str, suffix: str) -> str:
    return f"models/{project_id}/{version}.{suffix}"


def ensure_bucket() -> None:
    s3, bucket = s3_client(), bind().model_bucket
    try:
        s3.head_bucket(Bucket=bucket)
    except s3.exceptions.ClientError:
        s3.create_bucket(Bucket=bucket)


def put(project_id: str, blob: bytes, metadata: dict) -> None:
    s3, bucket = s3_client(), bind().model_bucket
    version = metadata["version"]
    s3.put_object(Bucket=bucket, Key=_key(project_id, version, "skops"), Body=blob)
    s3.put_object(
        Bucket=bucket, Key=_key(project_id, version, "json"), Body=json.dumps(metadata).encode()
    )


def get(project_id: str, version: str) -> tuple[bytes, dict]:
    s3, bucket = s3_client(), bind().model_bucket
    blob = s3.get_object(Bucket=bucket, Key=_key(project_id, version, "skops"))["Body"].read()
    metadata = json.loads(
        s3.get_object(Bucket=bucket, Key=_key(project_id, version, "json"))["Body"].read()
    )
    return blob, metadata


def current_version(project_id: str) -> str | None:
    bind()
    try:
        return ProjectModel.get(project_id, attributes_to_get=["model_version"]).model_version
    except ProjectModel.DoesNotExist:
        return None


def promote(project_id: str, version: str) -> None:
    bind()
    ProjectModel(project_id).update(actions=[ProjectModel.model_version.set(version)])
