"""The local runs' stand-in for KMS (storage/credentials.py): AES-256-GCM with a random key kept
in a file (mode 0600, created on first use). Dev only: `cryptography` is not in the Lambda
package, and a deployment seals with KMS."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


def _key(path: str) -> bytes:
    file = Path(path)
    if not file.exists():
        file.parent.mkdir(parents=True, exist_ok=True)
        try:  # O_EXCL: of two processes starting at once, one writes the key, both read it
            fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(AESGCM.generate_key(bit_length=256))
    key = file.read_bytes()
    if len(key) != 32:
        raise ValueError(f"{path} does not hold a 32-byte key")
    return key


def encrypt(path: str, plain: bytes, aad: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(_key(path)).encrypt(nonce, plain, aad)


def decrypt(path: str, blob: bytes, aad: bytes) -> bytes:
    """The plain text; ValueError if the key, the blob or the associated data do not match."""
    try:
        return AESGCM(_key(path)).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except InvalidTag:
        raise ValueError("the sealed value does not open with this key and context") from None
