"""Ed25519 signing of bundle manifests.

The signature covers the exact bytes of manifest.json (which lists the SHA-256 of every other file), and is
stored raw (64 bytes) in manifest.sig, so an auditor can check it with OpenSSL alone:

    openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin -in manifest.json -sigfile manifest.sig

The private key lives outside the bundle; its path comes from EVIDENCE_SIGNING_KEY. The public key goes into
the bundle (public_key.pem, and its fingerprint in the manifest); `verify --public-key` (or EVIDENCE_PUBLIC_KEY)
pins the expected one. Nothing is written unsigned unless EVIDENCE_ALLOW_UNSIGNED=1 says so.

A chain changes signer only through a key rotation record: key_rotation.json (old and new key id, the new public
key) signed by the OLD key (key_rotation.sig, raw Ed25519 like manifest.sig). `rotate-key` leaves it in each
series folder (key-rotations/); the first bundle the new key signs carries it, and verify accepts the new signer
from that bundle on only if the record verifies under the signer the chain had until then.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIGNING_KEY_ENV = "EVIDENCE_SIGNING_KEY"
#: the public key an export, a sample or verify trusts when --public-key is not given
PUBLIC_KEY_ENV = "EVIDENCE_PUBLIC_KEY"
#: "1" lets a bundle be written without a signature (stated in its manifest and in the snapshot's metadata)
ALLOW_UNSIGNED_ENV = "EVIDENCE_ALLOW_UNSIGNED"
ALGORITHM = "Ed25519"
ROTATION_RECORD = "key_rotation.json"
ROTATION_SIGNATURE = "key_rotation.sig"
ROTATION_FORMAT = "soc2-evidence-key-rotation/1"
#: where `rotate-key` leaves the record in each series folder, for the next bundle the new key signs
PENDING_ROTATIONS = "key-rotations"


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
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
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
        raise SigningKeyError(
            f"{SIGNING_KEY_ENV}={path}: not a readable unencrypted Ed25519 private key ({exc})"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{SIGNING_KEY_ENV}={path}: the key is {type(key).__name__}, not Ed25519")
    return SigningKey(key, path)


def signing_key_from_env() -> SigningKey | None:
    """The configured key, or None when EVIDENCE_SIGNING_KEY is unset (see `require_signing`)."""
    value = os.environ.get(SIGNING_KEY_ENV, "").strip()
    return load_private_key(Path(value).expanduser()) if value else None


def unsigned_allowed() -> bool:
    return os.environ.get(ALLOW_UNSIGNED_ENV, "").strip().lower() in ("1", "true", "yes")


def require_signing(signing_key: SigningKey | None, what: str) -> None:
    """Refuse to write `what` unsigned unless EVIDENCE_ALLOW_UNSIGNED says so: unsigned evidence proves nothing."""
    if signing_key is None and not unsigned_allowed():
        raise SigningKeyError(
            f"{SIGNING_KEY_ENV} is not set: refusing to write an unsigned {what} (make a key "
            f"with `evidence-pipeline keygen` and set {SIGNING_KEY_ENV} to it, or set "
            f"{ALLOW_UNSIGNED_ENV}=1 to write unsigned evidence on purpose)"
        )


def signing_key_for_writing(what: str) -> SigningKey | None:
    """The configured key; None only when unsigned writing is explicitly allowed."""
    signing_key = signing_key_from_env()
    require_signing(signing_key, what)
    return signing_key


def signing_note(signing_key: SigningKey | None) -> str:
    """How a written bundle is signed, for logs and metadata."""
    return f"signed by {signing_key.key_id}" if signing_key else f"UNSIGNED (allowed by {ALLOW_UNSIGNED_ENV})"


def pinned_public_key_from_env() -> bytes | None:
    """The public key file named by EVIDENCE_PUBLIC_KEY, when it is set."""
    value = os.environ.get(PUBLIC_KEY_ENV, "").strip()
    if not value:
        return None
    try:
        return Path(value).expanduser().read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"{PUBLIC_KEY_ENV}={value}: cannot read the public key file: {exc.strerror}") from None


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


def rotation_record(old_key: SigningKey, new_key: Ed25519PublicKey) -> tuple[bytes, bytes]:
    """key_rotation.json introducing `new_key`, and its signature by `old_key` (the chain's signer until now)."""
    record = {
        "format": ROTATION_FORMAT,
        "old_key_id": old_key.key_id,
        "new_key_id": fingerprint(new_key),
        "new_public_key": public_pem(new_key).decode(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    data = (json.dumps(record, indent=2, sort_keys=True) + "\n").encode()
    return data, old_key.sign(data)


def check_rotation_record(data: bytes, signature: bytes, old_key: Ed25519PublicKey, new_key_id: str) -> str | None:
    """Why the record does not hand the chain from `old_key` to `new_key_id`; None when it does."""
    try:
        record = json.loads(data)
        named_new = fingerprint(load_public_key(record["new_public_key"].encode(), ROTATION_RECORD))
        old_id, new_id = record["old_key_id"], record["new_key_id"]
    except (ValueError, KeyError, TypeError, AttributeError, SigningKeyError) as exc:
        return f"{ROTATION_RECORD}: unreadable ({exc})"
    if old_id != fingerprint(old_key):
        return f"{ROTATION_RECORD}: rotates from {old_id}, but the chain was signed by {fingerprint(old_key)}"
    if new_id != new_key_id or named_new != new_key_id:
        return f"{ROTATION_RECORD}: introduces {new_id}, not the bundle's signer {new_key_id}"
    if not signature_valid(old_key, signature, data):
        return f"{ROTATION_SIGNATURE}: bad signature: the record is not signed by the previous key {old_id}"
    return None


def _pending_files(series_root: Path, new_key_id: str) -> tuple[Path, Path]:
    stem = new_key_id.removeprefix("sha256:")
    folder = series_root / PENDING_ROTATIONS
    return folder / f"{stem}.json", folder / f"{stem}.sig"


def write_pending_rotation(series_root: Path, data: bytes, signature: bytes, new_key_id: str) -> Path:
    """Leave a rotation record in a series folder for the first bundle `new_key_id` signs there."""
    record, sig = _pending_files(series_root, new_key_id)
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_bytes(data)
    sig.write_bytes(signature)
    return record


def pending_rotation(series_root: Path, new_key_id: str) -> tuple[bytes, bytes] | None:
    """The rotation record (and its signature) `rotate-key` left for `new_key_id`, if any."""
    record, sig = _pending_files(series_root, new_key_id)
    return (record.read_bytes(), sig.read_bytes()) if record.is_file() and sig.is_file() else None


def data_folder_key(home: Path) -> Path:
    """Where the demo keeps its own signing key: inside the (git-ignored) data folder, never in the repository."""
    return home / "keys" / "evidence-signing.pem"


def ensure_data_folder_key(home: Path) -> SigningKey:
    """The data folder's key, made on first use (the demo signs its bundles without any setup)."""
    path = data_folder_key(home)
    return load_private_key(path) if path.is_file() else generate_key(path)
