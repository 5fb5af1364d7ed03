"""Errors of tlsdiag itself (problems of the *target* are findings, not exceptions).

Tree::

    TlsdiagError(Exception)    message, hint, exit_code = 3
      UsageError               option values or combinations that are wrong (exit 2)
      InputError               a user-given file or value is unreadable or malformed (exit 2)
      StoreError               a trust store cannot be found or read
      ProxyError               cannot bind, CA material missing
"""

from __future__ import annotations


class TlsdiagError(Exception):
    """Base class: one clear line for the user, an optional hint, an exit status."""

    exit_code = 3

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(TlsdiagError):
    """Options that are wrong for the command."""

    exit_code = 2


class InputError(TlsdiagError):
    """A user-given file or value cannot be used."""

    exit_code = 2


class StoreError(TlsdiagError):
    """A trust store cannot be found or read."""


class ProxyError(TlsdiagError):
    """The proxy cannot start or run."""
