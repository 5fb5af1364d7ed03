"""``issuer`` end to end: probe the target (through ``check``'s probe and chain analysis), look
for inspection roots this machine trusts (``tlsdiag.stores``), and judge the presented chain
(pure, in ``tlsdiag.core.issuer``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import hashes

from tlsdiag import __version__
from tlsdiag.commands.check import CheckOptions, run_check
from tlsdiag.core.issuer.vendor_match import first_per_vendor, installed_vendors
from tlsdiag.core.issuer.verdict import (
    assess_interception,
    compile_expect_issuer,
    normalize_fingerprint,
)
from tlsdiag.errors import UsageError
from tlsdiag.kb.vendors import vendors as all_vendors
from tlsdiag.model import Report, Target, platform_name
from tlsdiag.stores.bundles import RootSet, os_roots, public_roots
from tlsdiag.stores.rootfacts import facts_of

if TYPE_CHECKING:
    from tlsdiag.facts.issuer import ConnectionFacts


def validate(opts: CheckOptions, vendor_ids: Sequence[str]) -> None:
    """Reject bad ``--expect-issuer`` / ``--expect-fingerprint`` / ``--vendor`` before probing.

    Raises:
        UsageError: with a message naming the option.
    """
    try:
        if opts.expect_issuer:
            compile_expect_issuer(opts.expect_issuer)
        if opts.expect_fingerprint:
            normalize_fingerprint(opts.expect_fingerprint)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    known = {v.id for v in all_vendors()}
    for vid in vendor_ids:
        if vid not in known:
            raise UsageError(
                f"--vendor {vid!r}: unknown vendor id",
                "known ids: " + ", ".join(sorted(known)),
            )


def inspection_roots_here(cafile: RootSet | None = None) -> list[tuple[str, str]]:
    """``(vendor id, root name)`` of the inspection roots this machine's OS store (and
    ``--cafile``) trusts: which product this machine is set up for. ``check`` can pass the ids to
    ``assess_interception(configured_vendors=...)``."""
    return list(_os_inspection_roots()) + (installed_vendors(cafile.certs) if cafile else [])


@cache
def _os_inspection_roots() -> tuple[tuple[str, str], ...]:
    """Vendor roots in the OS store; public roots (certifi) are skipped: they are never an
    inspection root, and matching every vendor rule against every public root is slow."""
    public = frozenset(facts_of(public_roots()).fingerprints)
    osf = facts_of(os_roots())
    private = (v for fp, v in zip(osf.fingerprints, osf.vendors, strict=True) if fp not in public)
    return tuple(first_per_vendor(private))


def run_issuer(target: Target, opts: CheckOptions, *, vendors: Sequence[str] = ()) -> Report:
    """Probe ``target`` and build the ``issuer`` report."""
    # here, not at the top: ``check`` imports this module for ``inspection_roots_here`` only
    from tlsdiag.core.issuer.report import issuer_report

    validate(opts, vendors)
    platform = opts.platform or platform_name()
    outcome = run_check(target, opts)
    now = opts.now or datetime.now(UTC)
    probe = outcome.probe
    connection: ConnectionFacts = {
        "host": target.host,
        "port": target.port,
        "sni": probe.sni,
        "address": probe.address,
    }
    installed = inspection_roots_here(opts.cafile)
    configured = [(vid, "(--vendor)") for vid in vendors] if vendors else installed
    generated_at = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    if not outcome.presented or outcome.analysis is None:
        # No certificate: the connection failed; the check's findings say why.
        return issuer_report(
            target=target.display,
            generated_at=generated_at,
            tool_version=__version__,
            verdict=None,
            findings=outcome.report.findings,
            presented=(),
            path=(),
            trusted_by={},
            platform=platform,
            app=opts.app,
            configured=installed,
            connection=connection,
        )
    analysis = outcome.analysis
    pub = public_roots()
    verdict, findings = assess_interception(
        outcome.presented,
        analysis.path,
        host=probe.sni or target.host,
        now=now,
        public_root_fingerprints=frozenset(c.fingerprint(hashes.SHA256()).hex() for c in pub.certs),
        trusted_by=analysis.trusted_by,
        platform=platform,
        app=opts.app,
        expect_issuer=opts.expect_issuer,
        expect_fingerprint=opts.expect_fingerprint,
        configured_vendors=[vid for vid, _ in configured],
        public_roots=pub.certs,
    )
    return issuer_report(
        target=target.display,
        generated_at=generated_at,
        tool_version=__version__,
        verdict=verdict,
        findings=findings,
        presented=outcome.presented,
        path=analysis.path,
        trusted_by=analysis.trusted_by,
        platform=platform,
        app=opts.app,
        configured=installed,
        connection=connection,
    )
