"""Ed25519 signing of bundle manifests.

The signature covers the exact bytes of manifest.json (which lists the SHA-256 of every other file), and is
stored raw (64 bytes) in manifest.sig, so an auditor can check it with OpenSSL alone:

    openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin -in manifest.json -sigfile manifest.sig

The private key lives outside the bundle; its path comes from EVIDENCE_SIGNING_KEY. The public key goes into
the bundle (public_key.pem, and its fingerprint in the manifest); `verify --public-key` pins the expected one.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIGNING_KEY_ENV = "EVIDENCE_SIGNING_KEY"
ALGORITHM = "Ed25519"


class SigningKeyError(ValueError):
    """The key file is missing, unreadable or not an Ed25519 key; the message names the file."""


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """`sha256:<hex>` of the raw 32-byte public key: short enough to read out, publish and pin."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True)
class SigningKey:
    private_key: Ed25519PrivateKey
    path: Path

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def key_id(self) -> str:
        return fingerprint(self.public_key)

    def sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data)


def generate_key(path: Path) -> SigningKey:
    """A new Ed25519 key in PKCS#8 PEM (owner-only), with its public key beside it (<path>.pub). Never overwrites."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    # O_EXCL: an existing key is someone's signing identity; refuse rather than replace it
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    path.with_name(path.name + ".pub").write_bytes(public_pem(key.public_key()))
    return SigningKey(key, path)


def load_private_key(path: Path) -> SigningKey:
    """A PEM (PKCS#8 or OpenSSH) or raw 32-byte Ed25519 private key file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"{SIGNING_KEY_ENV}={path}: cannot read the key file: {exc.strerror}") from None
    try:
        if len(data) == 32:
            key = Ed25519PrivateKey.from_private_bytes(data)
        elif b"OPENSSH PRIVATE KEY" in data:
            key = serialization.load_ssh_private_key(data, password=None)
        else:
            key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{SIGNING_KEY_ENV}={path}: not a readable unencrypted Ed25519 private key "
                              f"({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{SIGNING_KEY_ENV}={path}: the key is {type(key).__name__}, not Ed25519")
    return SigningKey(key, path)


def signing_key_from_env() -> SigningKey | None:
    """The configured key, or None when EVIDENCE_SIGNING_KEY is unset (bundles are then written unsigned)."""
    value = os.environ.get(SIGNING_KEY_ENV, "").strip()
    return load_private_key(Path(value).expanduser()) if value else None


def load_public_key(data: bytes, origin: str) -> Ed25519PublicKey:
    """A PEM, OpenSSH (`ssh-ed25519 ...`) or raw 32-byte public key; a private key file also yields its public key."""
    try:
        if len(data) == 32:
            return Ed25519PublicKey.from_public_bytes(data)
        if data.startswith(b"ssh-ed25519"):
            key = serialization.load_ssh_public_key(data)
        elif b"PRIVATE KEY" in data:
            key = serialization.load_pem_private_key(data, password=None).public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{origin}: not a readable Ed25519 public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{origin}: the key is {type(key).__name__}, not Ed25519")
    return key


def signature_valid(public_key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


def data_folder_key(home: Path) -> Path:
    """Where the demo keeps its own signing key: inside the (git-ignored) data folder, never in the repository."""
    return home / "keys" / "evidence-signing.pem"


def ensure_data_folder_key(home: Path) -> SigningKey:
    """The data folder's key, made on first use (the demo signs its bundles without any setup)."""
    path = data_folder_key(home)
    return load_private_key(path) if path.is_file() else generate_key(path)
