"""Attestations: the human processes no API shows (exercises, tests, reviews, background checks), from a file the
company keeps, with each artefact hashed and kept; and the vendor register the vendor reviews cover."""

from connectors.attestations.model import KINDS, PERSON_KINDS, VENDOR_KINDS, Attestation, AttestationsError
from connectors.attestations.streams import (
    ATTESTATIONS_ENV,
    ATTESTATIONS_FILE,
    VENDOR_COLUMNS,
    VENDORS_ENV,
    VENDORS_FILE,
    AttestationsFile,
    VendorRegister,
    configured_file,
)

__all__ = [
    "ATTESTATIONS_ENV",
    "ATTESTATIONS_FILE",
    "VENDORS_ENV",
    "VENDORS_FILE",
    "KINDS",
    "PERSON_KINDS",
    "VENDOR_COLUMNS",
    "VENDOR_KINDS",
    "Attestation",
    "AttestationsError",
    "AttestationsFile",
    "VendorRegister",
    "configured_file",
]
