"""Judge a scan: what a policy allows, which common clients connect, what is missing (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tlsdiag import codes
from tlsdiag.core.findings import make_finding
from tlsdiag.core.scan_result import VERSION_LABELS, ScanResult, version_list
from tlsdiag.facts.scan import ClientRowFacts, PolicyFacts, PolicySummary
from tlsdiag.kb.scan import (
    VERSION_CODES,
    VERSION_NAMES,
    CipherLevel,
    ClientProfile,
    Suite,
    client_profiles,
    suites,
)
from tlsdiag.model import Finding


@dataclass(frozen=True, slots=True)
class ScanPolicy:
    """What the other side (an inspection policy, a client) accepts.

    ``suites`` limits the suites to a fixed list (a client profile); ``level`` and ``min_bits``
    judge suites by their algorithms (a policy).
    """

    label: str  # "the policy (--min-version TLSv1.2)", "this client (tlsdiag check)"
    min_version: str = "TLSv1.2"
    max_version: str = "TLSv1.3"
    level: CipherLevel | None = None
    min_bits: int = 0
    suites: frozenset[str] | None = None

    def allows_version(self, version: str) -> bool:
        """True when ``version`` lies within the policy's range."""
        code = VERSION_CODES[version]
        return VERSION_CODES[self.min_version] <= code <= VERSION_CODES[self.max_version]

    def allows_suite(self, suite: Suite) -> bool:
        """True when ``suite`` meets the policy."""
        if self.suites is not None:
            return suite.name in self.suites
        if suite.enc == "None" or suite.auth == "None" or suite.bits < self.min_bits:
            return False
        return self.level is None or self.level.allows(suite)

    @property
    def versions(self) -> tuple[str, ...]:
        """The allowed versions, lowest first."""
        return tuple(v for v in VERSION_NAMES if self.allows_version(v))

    def describe(self) -> PolicySummary:
        """JSON-ready summary."""
        return {
            "label": self.label,
            "min_version": self.min_version,
            "max_version": self.max_version,
            "cipher_level": self.level.id if self.level else None,
            "min_cipher_bits": self.min_bits,
            "versions": list(self.versions),
        }


def policy_findings(scan: ScanResult, policy: ScanPolicy) -> list[Finding]:
    """legacy.protocol_version / legacy.cipher_suite when the server and ``policy`` share no
    version or no suite, naming exactly what is missing; network findings when the scan failed.

    Args:
        scan: the scan of the server.
        policy: the policy or client to compare with.

    Returns:
        The findings (empty when the policy can connect).
    """
    if scan.failure is not None:
        f = scan.failure
        return [
            make_finding(
                f.code,
                detail=f.message[0].upper() + f.message[1:] + ".",
                evidence={"address": scan.address, "detail": f.detail} if f.detail else {},
            )
        ]
    accepted = scan.accepted
    if not accepted:
        return [_nothing_accepted(scan)]
    usable = [v for v in accepted if policy.allows_version(v)]
    ev = {"server_versions": ", ".join(accepted), "policy": policy.label}
    if not usable:
        missing = [v for v in policy.versions if v not in accepted]
        too_old = VERSION_CODES[accepted[-1]] < VERSION_CODES[policy.min_version]
        ev["missing_versions"] = ", ".join(missing)
        ev["allowed_versions"] = ", ".join(policy.versions)
        return [
            make_finding(
                codes.LEGACY_PROTOCOL_VERSION,
                title=f"The server speaks only {version_list(accepted)}",
                detail=(
                    f"The server accepts {version_list(accepted)} and refuses "
                    f"{version_list(missing)}; {policy.label} needs "
                    f"{version_list(policy.versions, 'or')}: the server's versions are all "
                    f"{'older' if too_old else 'newer'} than that."
                ),
                evidence=ev,
            )
        ]
    table = suites()
    for v in usable:
        if any(policy.allows_suite(table[s]) for s in scan.suites_for(v)):
            return []
    offered = {v: scan.suites_for(v) for v in usable}
    for v, names in offered.items():
        ev[f"server_suites_{v}"] = ", ".join(names) or "(none)"
    wanted = _examples(policy, usable)
    ev["missing_suites"] = ", ".join(wanted) if wanted else "(no suite meets the policy)"
    need = policy.level.description if policy.level else "the suites listed in missing_suites"
    return [
        make_finding(
            codes.LEGACY_CIPHER_SUITE,
            title=(
                f"No cipher suite in common: with {version_list(usable)} the server accepts only "
                f"{_short_list([s for names in offered.values() for s in names])}"
            ),
            detail=(
                f"{policy.label[0].upper() + policy.label[1:]} needs {need}; the server accepts "
                f"none of them with {version_list(usable)}."
            ),
            evidence=ev,
        )
    ]


def _short_list(names: Sequence[str], limit: int = 3) -> str:
    unique = list(dict.fromkeys(names))
    head = ", ".join(unique[:limit])
    return head + (f" (+{len(unique) - limit} more)" if len(unique) > limit else "")


def _examples(policy: ScanPolicy, versions: Sequence[str], limit: int = 4) -> list[str]:
    """Suites the policy accepts with ``versions`` (the first few, modern first)."""
    table = suites()
    out: list[str] = []
    for name in (*_PREFERRED, *table):
        s = table[name]
        if name not in out and any(s.usable_with(v) for v in versions) and policy.allows_suite(s):
            out.append(name)
        if len(out) >= limit:
            break
    return out


_PREFERRED = (
    "TLS_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
)


def _nothing_accepted(scan: ScanResult) -> Finding:
    answers = {v.version: v.answer for v in scan.versions}
    ev = {f"answer_{k}": a for k, a in answers.items() if a}
    cipher = all("handshake_failure" in a or "insufficient_security" in a for a in answers.values())
    if cipher:
        return make_finding(
            codes.LEGACY_CIPHER_SUITE,
            title="The server accepts none of the cipher suites tlsdiag offers",
            detail=(
                f"Every version probe (SSL 3.0 to TLS 1.3, {len(suites())} suites) was refused "
                "with a handshake_failure alert."
            ),
            evidence=ev,
        )
    return make_finding(
        codes.LEGACY_PROTOCOL_VERSION,
        title="The server accepts no SSL/TLS version tlsdiag offers",
        detail="The server answered every version from SSL 3.0 to TLS 1.3 with a refusal.",
        evidence=ev,
    )


def negotiate(scan: ScanResult, client: ClientProfile) -> ClientRowFacts:
    """What ``client`` and the server agree on, the way an OpenSSL-like server decides.

    The highest common version wins; then the first suite in the server's order (when it
    enforces its order) or the client's order; ECDHE and TLS 1.3 need a common group when the
    scan knows the server's groups.
    """
    common = [v for v in VERSION_NAMES if v in client.versions and v in scan.accepted]
    if not common:
        server = version_list(list(scan.accepted)) or "none"
        return {
            "id": client.id,
            "name": client.name,
            "connects": False,
            "reason": f"no version in common (server: {server})",
        }
    version = common[-1]
    vscan = next(v for v in scan.versions if v.version == version)
    groups_ok = not vscan.groups_checked or bool(set(vscan.groups) & set(client.groups))
    table = suites()

    def usable(name: str) -> bool:
        s = table[name]
        needs_group = s.tls13 or s.ecdhe
        return name in client.suites and (groups_ok or not needs_group)

    server_side = [s for s in vscan.suites if usable(s)]
    if vscan.server_order is False:
        server_side = [s for s in client.suites if s in server_side]
    if not server_side:
        return {
            "id": client.id,
            "name": client.name,
            "connects": False,
            "version": version,
            "reason": f"no cipher suite in common with {VERSION_LABELS[version]}"
            + ("" if groups_ok else " (no key-exchange group in common)"),
        }
    return {
        "id": client.id,
        "name": client.name,
        "connects": True,
        "version": version,
        "suite": server_side[0],
        "reason": "",
    }


def client_matrix(
    scan: ScanResult, profiles: Sequence[ClientProfile] | None = None
) -> list[ClientRowFacts]:
    """One row per common client: whether it connects, and with which version and suite."""
    return [negotiate(scan, p) for p in (profiles if profiles is not None else client_profiles())]


def policy_facts(scan: ScanResult, policy: ScanPolicy) -> PolicyFacts:
    """The policy summary plus what it would use with this server."""
    table = suites()
    allowed = {
        v: [s for s in scan.suites_for(v) if policy.allows_suite(table[s])]
        for v in scan.accepted
        if policy.allows_version(v)
    }
    return {
        **policy.describe(),
        "usable": {v: names for v, names in allowed.items() if names},
        "connects": any(allowed.values()),
    }


CHECK_CLIENT_PROFILE = "python-openssl3"
_LEGACY_CODES = (codes.LEGACY_PROTOCOL_VERSION, codes.LEGACY_CIPHER_SUITE)


def check_client_policy() -> ScanPolicy:
    """What ``tlsdiag check`` itself offers (Python's ssl with OpenSSL 3 defaults)."""
    profile = next(p for p in client_profiles() if p.id == CHECK_CLIENT_PROFILE)
    return ScanPolicy(
        label="this client (tlsdiag check, Python ssl / OpenSSL 3 defaults)",
        min_version=profile.versions[0],
        max_version=profile.versions[-1],
        suites=frozenset(profile.suites),
    )


def short_form_findings(scan: ScanResult, base: Sequence[Finding]) -> list[Finding]:
    """``check``'s findings after a version or cipher failure, with the scan's short form.

    When the scan shows what is missing ("the server speaks only TLS 1.0"), that finding
    replaces the generic legacy finding, keeping its evidence; otherwise ``base`` is returned.

    Args:
        scan: a short scan (versions and suites) of the server that refused the handshake.
        base: the findings built from the failed handshake.

    Returns:
        The findings to report.
    """
    found = [f for f in policy_findings(scan, check_client_policy()) if f.code in _LEGACY_CODES]
    if not found:
        return list(base)
    old = next((f for f in base if f.code in _LEGACY_CODES), None)
    evidence = {**(old.evidence if old else {}), **found[0].evidence}
    merged = Finding(
        code=found[0].code,
        severity=found[0].severity,
        title=found[0].title,
        detail=found[0].detail,
        evidence=evidence,
        remediation=found[0].remediation,
    )
    return [merged, *(f for f in base if f.code not in _LEGACY_CODES)]
