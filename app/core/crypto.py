"""Encryption at rest for credentials and webhook secrets, keyed from SEAM_SECRET_KEY.

SEAM_SECRET_KEY may list several keys, comma-separated, newest first: the newest encrypts, every one
decrypts. To rotate, put the new key first, run `seam secrets rotate` (which re-encrypts every stored
value with it), then drop the old one."""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
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


def keys_of(secret: str) -> list[str]:
    """The keys SEAM_SECRET_KEY lists, newest first."""
    keys = [k.strip() for k in secret.split(",") if k.strip()]
    return keys or [secret]


@lru_cache(maxsize=8)
def _multi(secret: str) -> MultiFernet:
    return MultiFernet([_fernet(k) for k in keys_of(secret)])


def encrypt(plaintext: str, secret: str) -> str:
    return _multi(secret).encrypt(plaintext.encode()).decode()


def decrypt(token: str, secret: str) -> str:
    try:
        return _multi(secret).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("stored secret cannot be decrypted with the current SEAM_SECRET_KEY") from exc


def reencrypt(token: str, secret: str) -> str:
    """The same value, encrypted with the newest key; raises DecryptionError if no key opens it."""
    try:
        return _multi(secret).rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("stored secret cannot be decrypted with the current SEAM_SECRET_KEY") from exc
