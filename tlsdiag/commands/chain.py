"""``chain`` end to end: read certificates from a file or stdin, complete the chain from AIA,
analyse it as ``check`` does (no connection), report."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from cryptography import x509

from tlsdiag import __version__
from tlsdiag.commands.check import (
    CheckOptions,
    fetch_aia,
    judge_chain,
    root_sets,
)
from tlsdiag.commands.options import load_cafiles
from tlsdiag.core import certs as C
from tlsdiag.core.certfile import parse_certificates
from tlsdiag.core.chain import Roots, analyze_chain, chain_facts
from tlsdiag.core.verdict import dedupe_findings, store_mismatch_findings
from tlsdiag.errors import InputError, UsageError
from tlsdiag.facts.check import ChainCommandFacts
from tlsdiag.facts.ids import RootSetId
from tlsdiag.model import Report, platform_name
from tlsdiag.stores.bundles import RootSet


def read_source(source: str, stdin: BinaryIO | None = None) -> tuple[list[x509.Certificate], str]:
    """The certificates in ``source`` (a path, or ``-`` for ``stdin``) and how to name it.

    Raises:
        InputError: unreadable, not a regular file, empty, too large, or no certificate in it.
    """
    from tlsdiag.stores.userfile import Kind, read_file, read_stream, stdin_stream

    if source == "-":
        what = "stdin"
        data, _ = read_stream(stdin or stdin_stream(), Kind.PEM, what=what)
    else:
        what = source
        data, _ = read_file(Path(source), Kind.PEM, what=what)
    if not data.strip():
        raise InputError(f"{what}: empty input")
    certs = parse_certificates(data, what=what)
    if not certs:
        raise InputError(f"{what}: no certificate found")
    return certs, what


def parse_at_time(text: str) -> datetime:
    """``--at-time``: an ISO 8601 date or date-time (UTC when no offset is given).

    Raises:
        UsageError: not an ISO 8601 time.
    """
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise UsageError(
            f"--at-time {text!r}: expected an ISO 8601 time such as 2025-06-01T12:00:00Z"
        ) from exc
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")


def chain_host(host: str) -> tuple[str, bool]:
    """``--host`` as (name, is_ip): any IP, IDN or A-label a certificate could carry.

    A-labels that IDNA 2008 refuses (``xn--ls8h.la``, emoji names) are still names a server
    certificate can hold and a client can ask for: they are kept as given.

    Raises:
        ValueError: not a host name or address.
    """
    from tlsdiag.core.target import normalize_host

    try:
        name, _, is_ip = normalize_host(host, f"--host {host}")
    except ValueError:
        name = host.strip().rstrip(".").lower()
        labels = name.split(".")
        if not name.isascii() or len(name) > 253 or not all(_LABEL.fullmatch(x) for x in labels):
            raise
        return name, False
    return name, is_ip


def _read_untrusted(paths: Sequence[Path]) -> list[x509.Certificate]:
    from tlsdiag.stores.userfile import Kind, read_file

    out: list[x509.Certificate] = []
    for path in paths:
        what = f"--untrusted {path}"
        data, _ = read_file(path, Kind.PEM, what=what)
        certs = parse_certificates(data, what=what)
        if not certs:
            raise InputError(f"{what}: no certificate found")
        out.extend(certs)
    return out


def chain_command(
    source: str,
    *,
    stdin: BinaryIO | None = None,
    host: str | None,
    cafile: Sequence[Path] | None,
    cafile_only: bool = False,
    untrusted: Sequence[Path] | None = None,
    at_time: str | None = None,
    aia: bool = True,
    timeout: float = 5.0,
) -> Report:
    """``tlsdiag chain``: read the file (or stdin) and analyse its chain.

    Raises:
        UsageError: ``--cafile-only`` without ``--cafile``, or a bad ``--at-time``.
        InputError: the file, the certificates or ``--host`` cannot be used.
    """
    if cafile_only and not cafile:
        raise UsageError("--cafile-only needs --cafile FILE (the roots to judge against)")
    when = parse_at_time(at_time) if at_time is not None else None
    certs, what = read_source(source, stdin)
    ca = load_cafiles(cafile)
    extra = _read_untrusted(untrusted or ())
    try:
        return run_chain(
            certs,
            host=host,
            cafile=ca,
            cafile_only=cafile_only,
            untrusted=extra,
            aia=aia,
            timeout=timeout,
            at_time=when,
            source=what,
        )
    except ValueError as exc:
        raise InputError(str(exc)) from exc


def run_chain(
    certs: Sequence[x509.Certificate],
    *,
    host: str | None,
    cafile: RootSet | None,
    cafile_only: bool = False,
    untrusted: Sequence[x509.Certificate] = (),
    aia: bool = True,
    timeout: float = 5.0,
    now: datetime | None = None,
    at_time: datetime | None = None,
    source: str = "",
) -> Report:
    """The chain analysis of ``check`` on certificates from a file (``tlsdiag chain``).

    ``at_time`` judges dates and the path at that moment instead of ``now``; ``cafile_only``
    judges against the ``--cafile`` roots alone (no certifi, no OS store).
    """
    when = now or datetime.now(UTC)
    judged = at_time or when
    is_ip = False
    if host is not None:
        host, is_ip = chain_host(host)
    if cafile_only and cafile is not None:
        sets = [Roots(cafile.name, cafile.certs)]
    else:
        sets = root_sets(cafile)
    kw: dict[str, Any] = {"host": host, "is_ip": is_ip, "now": judged, "root_sets": sets}
    analysis = analyze_chain(certs, untrusted=untrusted, **kw)
    if analysis.missing_issuer and aia:
        fetched, errors = fetch_aia(certs, analysis, timeout)
        if fetched or errors:
            analysis = analyze_chain(
                certs, untrusted=untrusted, fetched=fetched, fetch_errors=errors, **kw
            )
    chain = chain_facts(analysis)
    facts: ChainCommandFacts = {
        "source": source,
        "host": host,
        "chain": chain["chain"],
        "path": chain["path"],
        "trust": chain["trust"],
        "name_check": "done" if host is not None else "not done (no --host given)",
        "interception": None,
    }
    if at_time is not None:
        facts["at_time"] = at_time.strftime("%Y-%m-%dT%H:%M:%SZ")
    if cafile_only:
        facts["roots"] = "--cafile only"
    dns, ips = C.san_names(certs[0])
    name = host or next(iter(dns), "") or next(iter(ips), "")
    opts = CheckOptions(cafile=cafile, platform=platform_name(), command="chain")
    interception, findings = judge_chain(name, certs, analysis, opts, judged)
    facts["interception"] = interception
    if not cafile_only and (not cafile or not analysis.trusted_by.get(RootSetId.CAFILE)):
        findings.extend(store_mismatch_findings(analysis, platform=platform_name()))
    return Report(
        command="chain",
        target=source,
        generated_at=when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        facts=facts,
        findings=tuple(dedupe_findings(findings)),
        tool_version=__version__,
    )
