"""The hub's master key and the secrets derived from it.

WS-Security PasswordDigest (Base64(SHA-1(nonce + created + password))) and OAuth2
client_secret_jwt (an HS256 assertion keyed with the client secret) both need the server to
hold the *plain* secret at verification time; a salted hash is not enough. Instead of storing
secrets encrypted, the hub stores nothing secret at all: every secret is derived on demand,

    secret = base64url(HMAC-SHA256(master_key, "kikan-hub/v1|<purpose>|<client_id>|<generation>"))

(HMAC as a PRF, the same construction as HKDF-Expand). The store keeps only a salted scrypt
hash of each issued secret: client_secret_basic is checked against that hash, and the hash also
proves that the master key in use is the one the secret was issued under. Whoever holds the
master key can compute every client's secret — inherent to PasswordDigest — so the key lives
outside the store: ``KIKAN_SECRET_KEY`` (hex or base64, ≥ 32 bytes) or a 0600 key file
(``KIKAN_SECRET_KEY_FILE``, default ``var/kikan-secret.key``).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from pathlib import Path

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1


class KeyError_(Exception):
    """No usable master key."""


def key_file_path() -> Path:
    return Path(os.environ.get("KIKAN_SECRET_KEY_FILE") or Path("var") / "kikan-secret.key")


def _decode_key(text: str) -> bytes:
    text = text.strip()
    for dec in (bytes.fromhex, lambda t: base64.urlsafe_b64decode(t + "=" * (-len(t) % 4))):
        try:
            raw = dec(text)
        except (ValueError, binascii.Error):
            continue
        if len(raw) >= 32:
            return raw
    raise KeyError_("master key must be ≥ 32 bytes, hex or base64")


def load_master_key(create: bool = False) -> bytes:
    env = os.environ.get("KIKAN_SECRET_KEY")
    if env:
        return _decode_key(env)
    path = key_file_path()
    if path.exists():
        return _decode_key(path.read_text(encoding="ascii"))
    if not create:
        raise KeyError_(f"マスター鍵がありません: KIKAN_SECRET_KEY を設定するか {path} を作成してください "
                        f"(`kikan clients add` が初回に作ります)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    return _decode_key(path.read_text(encoding="ascii"))


def derive(master: bytes, purpose: str, client_id: str = "", generation: int = 0) -> str:
    msg = f"kikan-hub/v1|{purpose}|{client_id}|{generation}".encode()
    return base64.urlsafe_b64encode(hmac.new(master, msg, hashlib.sha256).digest()).decode().rstrip("=")


def derive_bytes(master: bytes, purpose: str) -> bytes:
    return hmac.new(master, f"kikan-hub/v1|{purpose}".encode(), hashlib.sha256).digest()


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    h = hashlib.scrypt(secret.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${h.hex()}"


def verify_secret(secret: str, stored: str) -> bool:
    try:
        algo, n, r, p, salt, h = stored.split("$")
        if algo != "scrypt":
            return False
        got = hashlib.scrypt(secret.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(bytes.fromhex(h)))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, bytes.fromhex(h))
