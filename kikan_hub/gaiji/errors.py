"""Errors of the gaiji package: each carries a message a clerk can act on."""
from __future__ import annotations


class GaijiError(Exception):
    """A user-facing error (bad input file, unknown code, failed checksum …)."""


class IntegrityError(GaijiError):
    """A downloaded or imported file is not what it claims to be."""
