"""``ca`` end to end: create, show, export and locate the local inspection root of
``tlsdiag proxy``, and say how to trust it (``tlsdiag.proxy.ca`` does the file work)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from tlsdiag import __version__
from tlsdiag.errors import UsageError
from tlsdiag.facts.ca import TrustHelpFacts
from tlsdiag.facts.lab import CaPathFacts
from tlsdiag.model import Report


def ca_dir(directory: Path | None) -> Path:
    """``--dir``, or the user's config directory (``$TLSDIAG_HOME``)."""
    from tlsdiag.proxy.ca import config_dir

    return directory if directory is not None else config_dir()


def init_report(
    directory: Path | None, *, days: int, permit: tuple[str, ...], force: bool
) -> Report:
    """``ca init``: create the CA and report it.

    Raises:
        UsageError: a bad ``--permit`` domain.
    """
    from tlsdiag.proxy.ca import init_ca
    from tlsdiag.proxy.report import ca_report

    try:
        ca = init_ca(ca_dir(directory), days=days, permit=permit, force=force)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    return ca_report("ca init", ca.cert, ca.paths, now=datetime.now(UTC), extra={"created": True})


def show_report(directory: Path | None) -> Report:
    """``ca show``: the CA's subject, validity, fingerprints, constraints and files."""
    from tlsdiag.proxy.ca import CaPaths, load_ca
    from tlsdiag.proxy.report import ca_report

    ca = load_ca(CaPaths.in_dir(ca_dir(directory)))
    return ca_report("ca show", ca.cert, ca.paths, now=datetime.now(UTC))


def export_bytes(directory: Path | None, *, der: bool) -> bytes:
    """``ca export``: the CA certificate (never the key), PEM or DER."""
    from cryptography.hazmat.primitives import serialization

    from tlsdiag.proxy.ca import CaPaths, load_ca

    ca = load_ca(CaPaths.in_dir(ca_dir(directory)))
    enc = serialization.Encoding.DER if der else serialization.Encoding.PEM
    return ca.cert.public_bytes(enc)


def path_report(directory: Path | None) -> Report:
    """``ca path``: where the CA lives (directory, certificate, key), whether or not it exists."""
    from tlsdiag.proxy.ca import CaPaths

    d = ca_dir(directory)
    paths = CaPaths.in_dir(d)
    facts: CaPathFacts = {
        "dir": str(d),
        "cert": str(paths.cert),
        "key": str(paths.key),
        "exists": paths.cert.exists() and paths.key.exists(),
    }
    return Report(
        command="ca path",
        target=str(d),
        generated_at=_now(),
        facts=facts,
        tool_version=__version__,
    )


def trust_help_report(directory: Path | None, platform: str | None) -> Report:
    """``ca trust-help``: the steps that make each store trust the CA (never run).

    Raises:
        UsageError: an unknown ``--platform``.
    """
    from tlsdiag.proxy.ca import CaPaths
    from tlsdiag.proxy.report import normalize_platform, trust_catalogue, trust_help_entries

    try:
        plat = normalize_platform(platform or sys.platform)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    paths = CaPaths.in_dir(ca_dir(directory))
    entries = trust_help_entries(
        trust_catalogue(),
        root_pem=str(paths.cert),
        root_name="tlsdiag inspection CA",
        platform=None if plat == "all" else plat,
    )
    facts: TrustHelpFacts = {
        "platform": plat,
        "ca_cert": str(paths.cert),
        "ca_exists": paths.cert.exists(),
        "stores": entries,
    }
    return Report(
        command="ca trust-help",
        target=str(paths.cert),
        generated_at=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        facts=facts,
        tool_version=__version__,
    )


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
