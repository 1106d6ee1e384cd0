"""DynamoDB's data calls handed to moto in-process without botocore's round trip.

Under mock_aws a DynamoDB call from this process is serialised by botocore (a Python walk of
the operation's shapes), signed, sent to moto's stub as an HTTP request, answered as JSON text
and parsed back by botocore (another walk). Profiled during a bulk load (`bench/ingest_api.py`),
that round trip was a quarter of a `POST /profiles`, more than our own code. A data call
(`DIRECT_OPERATIONS`) of a client that moto's stub would answer anyway is instead given to moto's
DynamoDB handler as the same JSON text, through the same lock (moto_lock), and its answer is
read with `json.loads`: moto does the same work, answers the same, and fails the same way (the
error botocore would raise, with the same code, message and cancellation reasons).

Anything else (control calls, other services, a client with an endpoint of its own, such as the
CLI's loopback one, a call when mock_aws is not started, parameters that are not plain JSON) goes
through botocore as before. Nothing is skipped that our calls had: PynamoDB, which makes every
data call of ours, turns botocore's parameter validation off.
"""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace

DIRECT_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "TransactGetItems",
    }
)
# tests that inject faults at botocore's wire (tests/test_faults.py) turn the shortcut off
ENABLED = True
_TARGET = "DynamoDB_20120810."
_URL = "https://dynamodb.{region}.amazonaws.com/"


def install() -> None:
    from botocore.client import BaseClient
    from moto.core.models import botocore_stubber
    from moto.dynamodb.responses import DynamoHandler

    from .moto_lock import call_locked

    if getattr(BaseClient._make_api_call, "_direct", False):
        return
    original = BaseClient._make_api_call

    def _make_api_call(self, operation_name, api_params):
        if operation_name in DIRECT_OPERATIONS and _stubbed(self, botocore_stubber):
            try:
                text = json.dumps(api_params, default=_blob, allow_nan=False)
            except (TypeError, ValueError):  # not plain JSON (a set, a NaN): botocore's way
                return original(self, operation_name, api_params)
            return _call(self, operation_name, text, call_locked, DynamoHandler.dispatch)
        return original(self, operation_name, api_params)

    _make_api_call._direct = True
    BaseClient._make_api_call = _make_api_call


def _stubbed(client, botocore_stubber) -> bool:
    """Whether moto's stub answers this client's calls: a DynamoDB client of AWS's own endpoint,
    with mock_aws started in this process."""
    meta = client.meta
    return (
        ENABLED
        and botocore_stubber.enabled
        and meta.service_model.service_name == "dynamodb"
        and meta.endpoint_url == _URL.format(region=meta.region_name).rstrip("/")
    )


def _call(client, operation_name: str, text: str, call_locked, dispatch) -> dict:
    region = client.meta.region_name
    headers = {
        "X-Amz-Target": _TARGET + operation_name,
        "Content-Type": "application/x-amz-json-1.0",
        # moto reads the account from the signature's access key, as from a signed request
        "Authorization": f"AWS4-HMAC-SHA256 Credential=local/20260101/{region}/dynamodb/aws4_request",
    }
    url = _URL.format(region=region)
    request = SimpleNamespace(body=text, headers=headers, method="POST", url=url)
    status, response_headers, body = call_locked(dispatch, request, url, headers)
    parsed = json.loads(body) if body else {}
    if '"B"' in body or '"BS"' in body:
        parsed = _blobs(parsed)
    if int(status) < 300:  # what botocore's parser keeps: the members of the output's shape
        members = client.meta.service_model.operation_model(operation_name).output_shape.members
        return {k: v for k, v in parsed.items() if k in members}
    raise _error(client, operation_name, int(status), response_headers, parsed)


def _blob(value):
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not plain JSON")


def _blobs(value):
    """Binary attribute values decoded as botocore decodes them (bytes)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "B" and isinstance(item, str) and len(value) == 1:
                out[key] = base64.b64decode(item)
            elif key == "BS" and isinstance(item, list) and len(value) == 1:
                out[key] = [base64.b64decode(v) for v in item]
            else:
                out[key] = _blobs(item)
        return out
    if isinstance(value, list):
        return [_blobs(item) for item in value]
    return value


def _error(client, operation_name: str, status: int, headers: dict, body: dict):
    """The exception botocore raises for this answer: code from `__type`, message, and the
    error's modelled fields (e.g. CancellationReasons) at the top level of its response, as
    botocore's parser puts the members of the error's shape that the answer holds."""
    code = str(body.get("__type", "")).rpartition("#")[2] or str(status)
    response = {
        "Error": {"Code": code, "Message": body.get("message", body.get("Message", ""))},
        "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers},
    }
    shape = next((s for s in client.meta.service_model.error_shapes if s.name == code), None)
    if shape is not None:
        response.update({k: body[k] for k in shape.members if k in body})
    return client.exceptions.from_code(code)(response, operation_name)
