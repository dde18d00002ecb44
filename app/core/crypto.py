"""Encryption at rest for credentials and webhook secrets, keyed from SEAM_SECRET_KEY."""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class DecryptionError(Exception):
    """The stored value was not made with the current SEAM_SECRET_KEY (or was altered)."""


@lru_cache(maxsize=8)
def _fernet(secret: str) -> Fernet:
    # A derived key, not the secret itself: the same SEAM_SECRET_KEY may key other things later.
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"seam", info=b"seam-credentials-v1").derive(
        secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(plaintext: str, secret: str) -> str:
    return _fernet(secret).encrypt(plaintext.encode()).decode()


def decrypt(token: str, secret: str) -> str:
    try:
        return _fernet(secret).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("stored secret cannot be decrypted with the current SEAM_SECRET_KEY") from exc
