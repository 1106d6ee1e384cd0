"""Destination credentials (ad platforms' tokens and secrets), sealed before they are stored and
opened only by the worker that sends to the platform.

- On AWS: KMS envelope-free encryption of the JSON of the credentials (`kms:Encrypt`, at most
  4 KB of plain text, which a destination's credentials never reach) with the key named by
  CREDENTIALS_KMS_KEY (an id, ARN or alias), bound to the project and destination by KMS's
  encryption context: a sealed value copied onto another destination does not open.
- In `make run` and other local runs: AES-256-GCM with a key kept in the file named by
  CREDENTIALS_KEY_FILE (created, mode 0600, on first use), the same context as associated data
  (chalicelib/local/credential_key.py; the `cryptography` package is a dev dependency, so it is
  never imported in Lambda).

Neither set: sealing refuses (a deployment must name its key; credentials are never stored in
the clear). The API shows only which credentials are set and a fingerprint (a SHA-256 prefix of
the plain JSON: tells two values apart, reveals nothing usable of high-entropy tokens).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os

from .connection import aws_client, bind

KMS_KEY_VARIABLE = "CREDENTIALS_KMS_KEY"
KEY_FILE_VARIABLE = "CREDENTIALS_KEY_FILE"


class CredentialsUnavailable(RuntimeError):
    """No way to seal or open credentials is configured (or the sealed value does not open)."""


def _context(project_id: str, destination_id: str) -> dict[str, str]:
    return {"project_id": project_id, "destination_id": destination_id}


def fingerprint(credentials: dict) -> str:
    plain = json.dumps(credentials, sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(plain).hexdigest()[:16]


def seal(project_id: str, destination_id: str, credentials: dict) -> dict:
    """The stored form: {"by": "kms"|"local", "sealed": base64, "fields", "fingerprint"}."""
    plain = json.dumps(credentials, sort_keys=True, separators=(",", ":")).encode()
    context = _context(project_id, destination_id)
    key_id, key_file = os.environ.get(KMS_KEY_VARIABLE), os.environ.get(KEY_FILE_VARIABLE)
    if key_id:
        by = "kms"
        blob = _kms().encrypt(KeyId=key_id, Plaintext=plain, EncryptionContext=context)[
            "CiphertextBlob"
        ]
    elif key_file:
        from ..local import credential_key

        by, blob = "local", credential_key.encrypt(key_file, plain, _aad(context))
    else:
        raise CredentialsUnavailable(
            f"set {KMS_KEY_VARIABLE} (AWS) or {KEY_FILE_VARIABLE} (local runs) to store "
            "destination credentials"
        )
    return {
        "by": by,
        "sealed": base64.b64encode(blob).decode(),
        "fields": sorted(credentials),
        "fingerprint": fingerprint(credentials),
    }


def open_sealed(project_id: str, destination_id: str, stored: dict) -> dict:
    """The credentials of a destination, in the clear (the worker only; never returned)."""
    blob = base64.b64decode(stored["sealed"])
    context = _context(project_id, destination_id)
    if stored["by"] == "kms":
        from botocore.exceptions import ClientError

        try:
            plain = _kms().decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "InvalidCiphertextException":
                raise  # throttling, access: retried by the work queue
            raise CredentialsUnavailable("the sealed credentials do not open here") from None
    elif stored["by"] == "local":
        key_file = os.environ.get(KEY_FILE_VARIABLE)
        if not key_file:
            raise CredentialsUnavailable(f"{KEY_FILE_VARIABLE} is not set: cannot open")
        from ..local import credential_key

        try:
            plain = credential_key.decrypt(key_file, blob, _aad(context))
        except ValueError:
            raise CredentialsUnavailable("the sealed credentials do not open here") from None
    else:
        raise CredentialsUnavailable(f"unknown sealing {stored['by']!r}")
    return json.loads(plain)


def public(stored: dict) -> dict:
    """What the API shows of stored credentials: which are set, and a fingerprint."""
    return {"set": list(stored["fields"]), "fingerprint": stored["fingerprint"]}


def _aad(context: dict) -> bytes:
    return json.dumps(context, sort_keys=True, separators=(",", ":")).encode()


def _kms():
    bind()
    return aws_client("kms", os.environ.get("KMS_ENDPOINT") or None)
