"""``tlsdiag probe HOST --scan``: versions, suites in order, groups; judged by a policy and by
common client profiles."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tlsdiag import __version__, codes
from tlsdiag.core.findings import make_finding
from tlsdiag.core.scan_policy import ScanPolicy, client_matrix, policy_facts, policy_findings
from tlsdiag.core.scan_result import ScanResult
from tlsdiag.errors import UsageError
from tlsdiag.facts.scan import ScanFacts
from tlsdiag.kb.scan import VERSION_CODES, cipher_levels
from tlsdiag.model import Finding, Report, Target
from tlsdiag.net.dns import resolve
from tlsdiag.net.probe import ProbeOptions
from tlsdiag.net.scan import DEFAULT_CONCURRENCY, scan

_SSL_NAMES = {
    ssl.TLSVersion.SSLv3: "SSLv3",
    ssl.TLSVersion.TLSv1: "TLSv1.0",
    ssl.TLSVersion.TLSv1_1: "TLSv1.1",
    ssl.TLSVersion.TLSv1_2: "TLSv1.2",
    ssl.TLSVersion.TLSv1_3: "TLSv1.3",
}
DEFAULT_LEVEL = "medium"


@dataclass(frozen=True, slots=True)
class ScanOptions:
    """Everything ``probe --scan`` needs besides the target."""

    probe: ProbeOptions = field(default_factory=ProbeOptions)
    policy_file: Path | None = None
    min_version: str | None = None
    cipher_level: str | None = None
    concurrency: int = DEFAULT_CONCURRENCY


def version_name(text: str, what: str) -> str:
    """``1.2``, ``tls1.2``, ``TLSv1.2``, ``ssl3`` -> ``TLSv1.2`` / ``SSLv3`` (UsageError else)."""
    t = text.strip().lower().replace("_", ".")
    if t in ("ssl3", "sslv3", "ssl3.0", "3.0"):
        return "SSLv3"
    t = t.removeprefix("tlsv").removeprefix("tls").strip()
    if t == "1":
        t = "1.0"
    name = f"TLSv{t}"
    if name not in VERSION_CODES:
        raise UsageError(f"{what} {text}: not a TLS version", "use 1.0, 1.1, 1.2, 1.3 or ssl3")
    return name


def build_policy(opts: ScanOptions) -> ScanPolicy:
    """The policy to judge by: the proxy policy file, then ``--min-version`` /
    ``--cipher-level`` on top; without either, the embedded proxy's defaults."""
    from tlsdiag.proxy.policy import default_policy, load_policy

    source = "the embedded proxy's default policy"
    pol = default_policy()
    if opts.policy_file is not None:
        pol = load_policy(str(opts.policy_file))
        source = f"the policy in {opts.policy_file}"
    min_version = _SSL_NAMES.get(pol.server_min, "TLSv1.2")
    max_version = _SSL_NAMES.get(pol.server_max, "TLSv1.3")
    extra = []
    if opts.min_version:
        min_version = version_name(opts.min_version, "--min-version")
        extra.append(f"--min-version {min_version}")
    level_id = opts.cipher_level or DEFAULT_LEVEL
    levels = cipher_levels()
    if level_id not in levels:
        raise UsageError(
            f"--cipher-level {level_id}: unknown level", f"choose one of {', '.join(levels)}"
        )
    if opts.cipher_level:
        extra.append(f"--cipher-level {level_id}")
    if VERSION_CODES[min_version] > VERSION_CODES[max_version]:
        max_version = min_version
    label = source if not extra else f"{source} with {' '.join(extra)}"
    if opts.policy_file is None and extra:
        label = " ".join(extra)
    return ScanPolicy(
        label=label,
        min_version=min_version,
        max_version=max_version,
        level=levels[level_id],
        min_bits=pol.min_cipher_bits,
    )


def _sni(target: Target, opts: ProbeOptions) -> str:
    if opts.no_sni:
        return ""
    if opts.servername:
        return opts.servername
    return "" if target.is_ip else target.host


def run_scan(target: Target, opts: ScanOptions) -> Report:
    """Scan ``target`` and judge the result (policy findings, client matrix)."""
    policy = build_policy(opts)
    now = datetime.now(UTC)
    p = opts.probe
    chost, cport = None, None
    for rule in p.connect_to:
        moved = rule.apply(target.host, target.port)
        if moved:
            chost, cport = moved
            break
    dns = resolve(
        target,
        rules=p.resolve,
        connect_host=chost,
        connect_port=cport,
        family=p.family,
        timeout=p.timeout,
    )
    sni = _sni(target, p)
    facts: ScanFacts = {
        "endpoint": {
            "input": target.raw,
            "host": target.host,
            "port": cport or target.port,
            "sni": sni,
            "addresses": list(dns.addresses),
        }
    }
    if not dns.addresses:
        finding = make_finding(
            codes.NETWORK_DNS_FAILURE,
            detail=f"{dns.name} does not resolve.",
            evidence={"error": dns.error} if dns.error else {},
        )
        return _report(target, now, facts, [finding])
    result: ScanResult = scan(
        dns.addresses[0],
        cport or target.port,
        sni=sni,
        target=target.display,
        timeout=p.timeout,
        concurrency=opts.concurrency,
    )
    facts["scan"] = result.to_dict()
    facts["policy"] = policy_facts(result, policy)
    facts["clients"] = client_matrix(result) if result.failure is None else []
    return _report(target, now, facts, policy_findings(result, policy))


def _report(target: Target, now: datetime, facts: ScanFacts, findings: list[Finding]) -> Report:
    return Report(
        command="probe",
        target=target.display,
        generated_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        facts=facts,
        findings=tuple(findings),
        tool_version=__version__,
    )
