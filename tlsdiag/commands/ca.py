"""``ca`` end to end: create, show, export and locate the local inspection root of
``tlsdiag proxy``, and say how to trust it (``tlsdiag.proxy.ca`` does the file work)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from tlsdiag import __version__
from tlsdiag.errors import UsageError
from tlsdiag.facts.ca import TrustHelpFacts
from tlsdiag.facts.lab import CaPathFacts
from tlsdiag.model import Report

if TYPE_CHECKING:
    from tlsdiag.core.trust.records import StoreReading
    from tlsdiag.proxy.ca import CaPaths


def ca_dir(directory: Path | None) -> Path:
    """``--dir``, or the user's config directory (``$TLSDIAG_HOME``)."""
    from tlsdiag.proxy.ca import config_dir

    return directory if directory is not None else config_dir()


def init_report(
    directory: Path | None,
    *,
    days: int,
    permit: tuple[str, ...],
    force: bool,
    key_type: str = "ec256",
) -> Report:
    """``ca init``: create the CA (``key_type``: a ``certbuild.KeyType`` value) and report it.

    Raises:
        UsageError: a bad ``--permit`` domain or ``--key-type``.
    """
    from tlsdiag.core.certbuild import KeyType
    from tlsdiag.proxy.ca import init_ca
    from tlsdiag.proxy.report import ca_report

    if key_type not in tuple(KeyType):
        choices = ", ".join(KeyType)
        raise UsageError(f"--key-type {key_type!r}: expected one of {choices}")
    try:
        ca = init_ca(
            ca_dir(directory), days=days, permit=permit, force=force, key_type=KeyType(key_type)
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    return ca_report("ca init", ca.cert, ca.paths, now=datetime.now(UTC), created=True)


def _existing(directory: Path | None) -> CaPaths:
    """The CA files in ``directory``.

    Raises:
        UsageError: there is no CA there yet (exit 2, with the command that makes one).
    """
    from tlsdiag.proxy.ca import CaPaths

    d = ca_dir(directory)
    paths = CaPaths.in_dir(d)
    if not paths.cert.exists() or not paths.key.exists():
        raise UsageError(
            f"no CA in {d} yet",
            hint="create one with `tlsdiag ca init`"
            + ("" if directory is None else f" --dir {directory}"),
        )
    return paths


def show_report(directory: Path | None) -> Report:
    """``ca show``: the CA's subject, validity, fingerprints, constraints and files."""
    from tlsdiag.proxy.ca import load_ca
    from tlsdiag.proxy.report import ca_report

    ca = load_ca(_existing(directory))
    return ca_report("ca show", ca.cert, ca.paths, now=datetime.now(UTC))


def export_bytes(directory: Path | None, *, der: bool) -> bytes:
    """``ca export``: the CA certificate (never the key), PEM or DER."""
    from cryptography.hazmat.primitives import serialization

    from tlsdiag.proxy.ca import load_ca

    ca = load_ca(_existing(directory))
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

    For this machine's platform the steps come from its stores as ``tlsdiag trust`` reads them
    (the fix that applies here, the store paths, overrides already set, each JDK and Firefox
    profile); for another platform a value nothing here knows is printed as ``<VALUE>`` and
    explained.

    Raises:
        UsageError: an unknown ``--platform``.
    """
    from tlsdiag.core.trust.fixes import trust_help_entries
    from tlsdiag.kb.trust import trust_stores
    from tlsdiag.proxy.ca import CaPaths
    from tlsdiag.proxy.report import normalize_platform

    try:
        plat = normalize_platform(platform or sys.platform)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    here = normalize_platform(sys.platform)
    paths = CaPaths.in_dir(ca_dir(directory))
    variables = {
        "ROOT_PEM": str(paths.cert),
        "ROOT_ALIAS": "tlsdiag-ca",
        "ROOT_NAME": "tlsdiag inspection CA",
        "BUNDLE_PEM": str(paths.cert.parent / "ca-bundle.pem"),
    }
    readings = _machine_readings() if plat == here else None
    entries = trust_help_entries(
        trust_stores(), readings, variables, platform=None if plat == "all" else plat
    )
    facts: TrustHelpFacts = {
        "platform": plat,
        "ca_cert": str(paths.cert),
        "ca_exists": paths.cert.exists(),
        "machine": readings is not None,
        "stores": entries,
    }
    return Report(
        command="ca trust-help",
        target=str(paths.cert),
        generated_at=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        facts=facts,
        tool_version=__version__,
    )


def _machine_readings() -> list[StoreReading]:
    """This machine's stores, as ``tlsdiag trust`` reads them."""
    import os

    from tlsdiag.stores import context
    from tlsdiag.stores.engine import read_stores

    # the store readers parse odd distribution roots quietly themselves (core.quiet)
    return read_stores(context.machine_context(os.environ, Path.home()))


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
