"""Binds the models to the configured tables and endpoint, once, on first use."""

from __future__ import annotations

import threading

from botocore.config import Config
from pynamodb.connection import Connection

from ..infra import config
from .tables import ALL_MODELS

_lock = threading.Lock()
_bound_to: config.Settings | None = None
_BASE_NAMES = {model: model.Meta.table_name for model in ALL_MODELS}


def bind() -> config.Settings:
    """Point every model at the tables of the current settings (idempotent, thread-safe)."""
    global _bound_to
    current = config.settings()
    if _bound_to == current:
        return _bound_to
    with _lock:
        if _bound_to != current:  # settings with equal values keep their (costly) connections
            for model, base in _BASE_NAMES.items():
                model.Meta.table_name = current.table_prefix + base
                model.Meta.host = current.dynamodb_endpoint
                model.Meta.region = current.region
                model.Meta.read_timeout_seconds = current.read_timeout_seconds
                model.Meta.max_retry_attempts = MAX_RETRY_ATTEMPTS
                _forget_cached_connection(model)
            _bound_to = current
    return _bound_to


def _forget_cached_connection(model) -> None:
    """The one use of a PynamoDB internal, kept here alone: a model caches its connection in
    `_connection` and (PynamoDB 6.1, `Model._get_connection`) builds a new one only when the
    table name changes, not the endpoint, region or timeouts, and there is no public reset.
    Tests and local runs re-point the models at another endpoint (moto), so it is dropped."""
    model._connection = None


# S3 and SQS clients: throttling and transient errors retried with exponential backoff and jitter
RETRIES = Config(retries={"mode": "standard", "max_attempts": 8})
MAX_RETRY_ATTEMPTS = 5  # DynamoDB calls, through PynamoDB (botocore's standard mode as well)

_clients: dict[tuple, object] = {}


def aws_client(service: str, endpoint: str | None):
    """A boto3 client (S3, SQS) for the current region and the given endpoint, made once: a
    client costs about 100 ms to create, and is thread-safe."""
    import boto3

    s = bind()
    key = (service, s.region, endpoint)
    with _lock:
        if key not in _clients:
            _clients[key] = boto3.client(
                service, region_name=s.region, endpoint_url=endpoint, config=RETRIES
            )
        return _clients[key]


_connections: dict[config.Settings, Connection] = {}


def transaction_connection() -> Connection:
    """A connection for TransactWrite (PynamoDB 6 needs one passed in), and through its public
    `client` the botocore client of the raw calls (storage.batch); one per settings, since
    creating a botocore client costs about 100 ms."""
    s = bind()
    connection = _connections.get(s)
    if connection is None:
        connection = _connections[s] = Connection(
            region=s.region,
            host=s.dynamodb_endpoint,
            read_timeout_seconds=s.read_timeout_seconds,
            max_retry_attempts=MAX_RETRY_ATTEMPTS,
        )
    return connection


def create_tables(wait: bool = True) -> None:
    bind()
    for model in ALL_MODELS:
        if not model.exists():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=wait)
