"""``chain`` end to end: read certificates from a file or stdin, complete the chain from AIA,
analyse it as ``check`` does (no connection), report."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from cryptography import x509

from tlsdiag import __version__
from tlsdiag.commands.check import current_platform, fetch_aia, root_sets
from tlsdiag.core.certfile import parse_certificates
from tlsdiag.core.chain import analyze_chain, chain_facts
from tlsdiag.core.verdict import dedupe_findings, store_mismatch_findings
from tlsdiag.errors import InputError
from tlsdiag.facts.check import ChainCommandFacts
from tlsdiag.facts.ids import RootSetId
from tlsdiag.model import Report
from tlsdiag.stores.bundles import RootSet, load_cafile

MAX_INPUT = 10 * 1024 * 1024


def read_source(source: str, stdin: BinaryIO) -> tuple[list[x509.Certificate], str]:
    """The certificates in ``source`` (a path, or ``-`` for ``stdin``) and how to name it.

    Raises:
        InputError: unreadable, empty, too large, or no certificate in it.
    """
    if source == "-":
        data = stdin.read(MAX_INPUT + 1)
        what = "stdin"
    else:
        path = Path(source)
        try:
            with path.open("rb") as fh:
                data = fh.read(MAX_INPUT + 1)
        except IsADirectoryError as exc:
            raise InputError(f"{source}: is a directory") from exc
        except OSError as exc:
            raise InputError(f"{source}: cannot read: {exc.strerror}") from exc
        what = source
    if len(data) > MAX_INPUT:
        raise InputError(f"{what}: larger than 10 MiB, not a certificate chain")
    if not data.strip():
        raise InputError(f"{what}: empty input")
    certs = parse_certificates(data, what=what)
    if not certs:
        raise InputError(f"{what}: no certificate found")
    return certs, what


def chain_command(
    source: str,
    *,
    stdin: BinaryIO,
    host: str | None,
    cafile: Path | None,
    aia: bool = True,
    timeout: float = 5.0,
) -> Report:
    """``tlsdiag chain``: read the file (or stdin) and analyse its chain.

    Raises:
        InputError: the file, the certificates or ``--host`` cannot be used.
    """
    certs, what = read_source(source, stdin)
    ca = load_cafile(cafile) if cafile is not None else None
    try:
        return run_chain(certs, host=host, cafile=ca, aia=aia, timeout=timeout, source=what)
    except ValueError as exc:
        raise InputError(str(exc)) from exc


def run_chain(
    certs: Sequence[x509.Certificate],
    *,
    host: str | None,
    cafile: RootSet | None,
    aia: bool = True,
    timeout: float = 5.0,
    now: datetime | None = None,
    source: str = "",
) -> Report:
    """The chain analysis of ``check`` on certificates from a file (``tlsdiag chain``)."""
    from tlsdiag.core.target import normalize_host

    when = now or datetime.now(UTC)
    is_ip = False
    if host is not None:
        host, _, is_ip = normalize_host(host, f"--host {host}")
    sets = root_sets(cafile)
    analysis = analyze_chain(certs, host=host, is_ip=is_ip, now=when, root_sets=sets)
    if analysis.missing_issuer and aia:
        fetched, errors = fetch_aia(certs, analysis, timeout)
        if fetched or errors:
            analysis = analyze_chain(
                certs,
                host=host,
                is_ip=is_ip,
                now=when,
                root_sets=sets,
                fetched=fetched,
                fetch_errors=errors,
            )
    chain = chain_facts(analysis)
    facts: ChainCommandFacts = {
        "source": source,
        "host": host,
        "chain": chain["chain"],
        "path": chain["path"],
        "trust": chain["trust"],
    }
    findings = list(analysis.findings)
    if not cafile or not analysis.trusted_by.get(RootSetId.CAFILE):
        findings.extend(store_mismatch_findings(analysis, platform=current_platform()))
    return Report(
        command="chain",
        target=source,
        generated_at=when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        facts=facts,
        findings=tuple(dedupe_findings(findings)),
        tool_version=__version__,
    )
