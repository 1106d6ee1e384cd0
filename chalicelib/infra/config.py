"""Settings from the environment, read lazily (on first use, not at import) and cached."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Settings:
    table_prefix: str
    region: str
    dynamodb_endpoint: str | None
    profile_shards: int
    cursor_secret: str
    read_timeout_seconds: float
    model_bucket: str
    s3_endpoint: str | None
    conversion_horizon_days: int
    clv_horizon_days: int
    churn_horizon_days: int  # churn risk: no purchase in this many days (retention_fit)
    work_queue: str
    sqs_endpoint: str | None
    work_retry_base_seconds: int  # a failed work message comes back after base x 2^(tries - 1)
    allow_private_webhooks: bool  # local runs and tests only: http and private addresses


@lru_cache(maxsize=1)
def settings() -> Settings:
    env = os.environ
    shards = int(env.get("PROFILE_SHARDS", "16"))
    if not 1 <= shards <= 256:
        raise RuntimeError("PROFILE_SHARDS must be from 1 to 256")
    secret = env.get("CURSOR_SECRET", "")
    if len(secret) < 16:
        raise RuntimeError("CURSOR_SECRET must be set to at least 16 characters")
    return Settings(
        table_prefix=env.get("TABLE_PREFIX", "segments-dev-"),
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        dynamodb_endpoint=env.get("DYNAMODB_ENDPOINT") or None,
        profile_shards=shards,
        cursor_secret=secret,
        read_timeout_seconds=float(env.get("DYNAMODB_READ_TIMEOUT", "120")),
        model_bucket=env.get("MODEL_BUCKET", "segments-dev-models"),
        s3_endpoint=env.get("S3_ENDPOINT") or None,
        conversion_horizon_days=int(env.get("CONVERSION_HORIZON_DAYS", "30")),
        clv_horizon_days=int(env.get("CLV_HORIZON_DAYS", "365")),
        churn_horizon_days=int(env.get("CHURN_HORIZON_DAYS", "90")),
        work_queue=env.get("WORK_QUEUE", "segments-dev-work"),
        sqs_endpoint=env.get("SQS_ENDPOINT") or None,
        work_retry_base_seconds=int(env.get("WORK_RETRY_BASE_SECONDS", "10")),
        allow_private_webhooks=env.get("ALLOW_PRIVATE_WEBHOOKS") == "1",
    )


def reset() -> None:
    """Forget cached settings (tests and the local runner change the environment)."""
    settings.cache_clear()
