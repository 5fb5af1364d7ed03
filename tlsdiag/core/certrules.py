"""Structured checks of a built path: what RFC 5280 requires and clients enforce (errors), and
what only the CA/Browser Forum or web PKI requires (warnings naming the rule).

Pure: certificates in, findings out. These checks, not the verifier's free-form message, name
why a path is refused.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID

from tlsdiag import codes
from tlsdiag.core import certs as C
from tlsdiag.core.findings import make_finding
from tlsdiag.model import Finding

_NAMES = {
    ExtensionOID.SUBJECT_ALTERNATIVE_NAME.dotted_string: "subjectAltName",
    ExtensionOID.EXTENDED_KEY_USAGE.dotted_string: "extendedKeyUsage",
    ExtensionOID.AUTHORITY_INFORMATION_ACCESS.dotted_string: "authorityInfoAccess",
    ExtensionOID.BASIC_CONSTRAINTS.dotted_string: "basicConstraints",
    ExtensionOID.KEY_USAGE.dotted_string: "keyUsage",
    ExtensionOID.NAME_CONSTRAINTS.dotted_string: "nameConstraints",
    ExtensionOID.AUTHORITY_KEY_IDENTIFIER.dotted_string: "authorityKeyIdentifier",
    ExtensionOID.SUBJECT_KEY_IDENTIFIER.dotted_string: "subjectKeyIdentifier",
    ExtensionOID.CRL_DISTRIBUTION_POINTS.dotted_string: "cRLDistributionPoints",
    ExtensionOID.CERTIFICATE_POLICIES.dotted_string: "certificatePolicies",
}
_SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH
_CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH
_ANY = ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE


def _tlvs(data: bytes) -> list[tuple[int, bytes, bytes]]:
    """(tag, value, whole TLV) for each element in ``data``; ValueError when malformed."""
    out: list[tuple[int, bytes, bytes]] = []
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise ValueError("truncated DER")
        tag, length, head = data[pos], data[pos + 1], 2
        if length & 0x80:
            n = length & 0x7F
            if n == 0 or n > 4:
                raise ValueError("bad DER length")
            length = int.from_bytes(data[pos + 2 : pos + 2 + n], "big")
            head += n
        end = pos + head + length
        if end > len(data):
            raise ValueError("truncated DER value")
        out.append((tag, data[pos + head : end], data[pos:end]))
        pos = end
    return out


def _der(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw + body


def _oid(raw: bytes) -> str:
    if not raw:
        return "?"
    first = min(raw[0] // 40, 2)
    parts = [first, raw[0] - 40 * first]
    val = 0
    for b in raw[1:]:
        val = (val << 7) | (b & 0x7F)
        if not b & 0x80:
            parts.append(val)
            val = 0
    return ".".join(str(p) for p in parts)


def extension_name(dotted: str) -> str:
    """A readable name for an extension OID."""
    return _NAMES.get(dotted, dotted)


def extension_problems(cert: x509.Certificate) -> tuple[tuple[str, str], ...]:
    """Extensions clients cannot read: ``(name, "duplicated" | "malformed")`` each.

    Each extension is parsed on its own (in a copy of the certificate that holds only it), so
    the one at fault is named instead of the whole set reading as missing.
    """
    try:
        cert.extensions  # noqa: B018 - parsing is the check
    except (x509.DuplicateExtension, ValueError):
        pass
    else:
        return ()
    try:
        ((_, outer, _),) = _tlvs(cert.public_bytes(serialization.Encoding.DER))
        (_, tbs, _), alg, sig = _tlvs(outer)
        fields = _tlvs(tbs)
        box = next(f for f in fields if f[0] == 0xA3)
        ((_, seq, _),) = _tlvs(box[1])
        exts = _tlvs(seq)
    except (ValueError, StopIteration):
        return (("extensions", "malformed"),)
    seen: dict[str, int] = {}
    problems: list[tuple[str, str]] = []
    for _, ext_value, whole in exts:
        try:
            dotted = _oid(_tlvs(ext_value)[0][1])
        except (ValueError, IndexError):
            problems.append(("an extension", "malformed"))
            continue
        seen[dotted] = seen.get(dotted, 0) + 1
        if seen[dotted] == 2:
            problems.append((extension_name(dotted), "duplicated"))
        if seen[dotted] > 1:
            continue
        body = b"".join(_der(0xA3, _der(0x30, whole)) if f[0] == 0xA3 else f[2] for f in fields)
        probe = _der(0x30, _der(0x30, body) + alg[2] + sig[2])
        try:
            x509.load_der_x509_certificate(probe).extensions  # noqa: B018
        except (x509.DuplicateExtension, ValueError):
            problems.append((extension_name(dotted), "malformed"))
    return tuple(problems) or (("extensions", "malformed"),)


def _role(i: int, cert: x509.Certificate, n: int) -> str:
    if i == 0:
        return "leaf"
    return "root" if i == n - 1 and C.is_self_signed(cert) else "intermediate"


def _get(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.ExtensionType | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except (x509.ExtensionNotFound, x509.DuplicateExtension, ValueError):
        return None


def _invalid(role: str, cert: x509.Certificate, title: str, detail: str, rule: str) -> Finding:
    subject = C.name_string(cert.subject)
    return make_finding(
        codes.SERVER_CHAIN_INVALID,
        title=f"The {role} certificate {title}",
        detail=detail,
        evidence={"certificate": f"{role}: {subject}", "rule": rule},
    )


def _profile(role: str, cert: x509.Certificate, title: str, detail: str, rule: str) -> Finding:
    subject = C.name_string(cert.subject)
    return make_finding(
        codes.SERVER_CERT_PROFILE,
        title=f"The {role} certificate {title}",
        detail=detail,
        evidence={"certificate": f"{role}: {subject}", "rule": rule},
    )


def _malformed(role: str, cert: x509.Certificate, problems: Sequence[tuple[str, str]]) -> Finding:
    what = ", ".join(f"{name} ({kind})" for name, kind in problems)
    return make_finding(
        codes.SERVER_CERT_MALFORMED,
        title=f"The {role} certificate has a malformed extension: {what}",
        detail=(
            f"{C.name_string(cert.subject)} carries {what}. RFC 5280 allows each extension once "
            "and in its defined form; Go, Python (cryptography) and browsers refuse to read the "
            "certificate, so what it says (names, key usage, issuer URLs) cannot be relied on."
        ),
        evidence={"certificate": f"{role}: {C.name_string(cert.subject)}", "extensions": what},
    )


def _dns_within(name: str, base: str) -> bool:
    name, base = name.lower().rstrip("."), base.lower().lstrip(".").rstrip(".")
    return not base or name == base or name.endswith("." + base)


def _nc_findings(
    path: Sequence[x509.Certificate], i: int, nc: x509.NameConstraints
) -> list[Finding]:
    dns, ips = C.san_names(path[0])
    permitted = list(nc.permitted_subtrees or ())
    excluded = list(nc.excluded_subtrees or ())
    p_dns = [g.value for g in permitted if isinstance(g, x509.DNSName)]
    e_dns = [g.value for g in excluded if isinstance(g, x509.DNSName)]
    p_ip = [g.value for g in permitted if isinstance(g, x509.IPAddress)]
    e_ip = [g.value for g in excluded if isinstance(g, x509.IPAddress)]
    bad = [
        n
        for n in dns
        if (p_dns and not any(_dns_within(n, b) for b in p_dns))
        or any(_dns_within(n, b) for b in e_dns)
    ]
    for text in ips:
        addr = ipaddress.ip_address(text)
        nets = [n for n in p_ip if isinstance(n, ipaddress.IPv4Network | ipaddress.IPv6Network)]
        if (nets and not any(addr in n for n in nets if n.version == addr.version)) or any(
            isinstance(n, ipaddress.IPv4Network | ipaddress.IPv6Network) and addr in n for n in e_ip
        ):
            bad.append(text)
    if not bad:
        return []
    issuer = path[i]
    role = _role(i, issuer, len(path))
    allowed = ", ".join(str(getattr(g, "value", g)) for g in permitted) or "(any)"
    denied = ", ".join(str(getattr(g, "value", g)) for g in excluded) or "(none)"
    return [
        _invalid(
            "leaf",
            path[0],
            f"names {', '.join(bad)} outside its issuer's name constraints",
            f"The {role} {C.name_string(issuer.subject)} may only issue for {allowed} "
            f"(excluded: {denied}); browsers, OpenSSL and Go refuse the leaf.",
            "RFC 5280 §4.2.1.10 (nameConstraints)",
        )
    ]


def path_rule_findings(path: Sequence[x509.Certificate]) -> list[Finding]:
    """RFC 5280 rules clients enforce (errors) and web-PKI rules (warnings) on a built path.

    Args:
        path: leaf first, each certificate followed by its issuer (the root last, when found).

    Returns:
        The findings, one per broken rule and certificate.
    """
    out: list[Finding] = []
    n = len(path)
    for i, cert in enumerate(path):
        role = _role(i, cert, n)
        problems = extension_problems(cert)
        if problems:
            out.append(_malformed(role, cert, problems))
            continue
        out.extend(_v1_rule(i, role, cert))
        if i == 0:
            out.extend(_leaf_rules(cert, alone=n == 1 and C.is_self_signed(cert)))
        else:
            out.extend(_issuer_rules(path, i, role, cert))
        out.extend(_profile_rules(role, cert))
    return out


def _v1_rule(i: int, role: str, cert: x509.Certificate) -> list[Finding]:
    if cert.version is not x509.Version.v1 or role == "root":
        return []
    if i == 0:
        detail = (
            "An X.509 v1 certificate has no extensions, so no subjectAltName: browsers, Go and "
            "Python refuse it as a server certificate."
        )
    else:
        detail = (
            "An X.509 v1 certificate has no basicConstraints, so it cannot act as a CA; OpenSSL, "
            "browsers and Go refuse a path through it."
        )
    return [_invalid(role, cert, "is X.509 version 1", detail, "RFC 5280 §4.1.2.1 (version)")]


def _leaf_rules(cert: x509.Certificate, *, alone: bool) -> list[Finding]:
    out: list[Finding] = []
    bc = _get(cert, x509.BasicConstraints)
    if isinstance(bc, x509.BasicConstraints) and bc.ca and not alone:
        out.append(
            _invalid(
                "leaf",
                cert,
                "is a CA certificate (basicConstraints CA:TRUE)",
                "A CA certificate is used as the server's own certificate. Python "
                "(cryptography), rustls and other web-PKI verifiers refuse it; OpenSSL accepts "
                "it. The server needs a certificate issued for it, not a CA certificate.",
                "RFC 5280 §4.2.1.9 with the web-PKI end-entity profile",
            )
        )
    eku = _get(cert, x509.ExtendedKeyUsage)
    if isinstance(eku, x509.ExtendedKeyUsage) and _SERVER_AUTH not in eku:
        listed = ", ".join(o._name for o in eku) or "(none)"
        out.append(
            _invalid(
                "leaf",
                cert,
                "is not for TLS servers (no serverAuth in extendedKeyUsage)",
                f"Its extendedKeyUsage lists {listed}; TLS clients require serverAuth.",
                "RFC 5280 §4.2.1.12 (extendedKeyUsage)",
            )
        )
    return out


def _issuer_rules(
    path: Sequence[x509.Certificate], i: int, role: str, cert: x509.Certificate
) -> list[Finding]:
    out: list[Finding] = []
    bc = _get(cert, x509.BasicConstraints)
    if cert.version is not x509.Version.v1 and not (
        isinstance(bc, x509.BasicConstraints) and bc.ca
    ):
        state = "CA:FALSE" if isinstance(bc, x509.BasicConstraints) else "absent"
        out.append(
            _invalid(
                role,
                cert,
                f"is not a CA (basicConstraints {state})",
                f"{C.name_string(cert.subject)} signed the certificate below it but is not a CA; "
                "OpenSSL, browsers, Go and Python refuse the path.",
                "RFC 5280 §4.2.1.9 (basicConstraints)",
            )
        )
    elif isinstance(bc, x509.BasicConstraints) and bc.path_length is not None:
        below = sum(1 for c in path[1:i] if c.issuer != c.subject)
        if below > bc.path_length:
            out.append(
                _invalid(
                    role,
                    cert,
                    f"allows {bc.path_length} intermediate(s) below it, the path has {below}",
                    f"basicConstraints pathLenConstraint={bc.path_length} on "
                    f"{C.name_string(cert.subject)}; clients refuse the longer path.",
                    "RFC 5280 §4.2.1.9 (pathLenConstraint)",
                )
            )
    ku = _get(cert, x509.KeyUsage)
    if isinstance(ku, x509.KeyUsage) and not ku.key_cert_sign:
        out.append(
            _invalid(
                role,
                cert,
                "may not sign certificates (keyUsage without keyCertSign)",
                "Its keyUsage does not include keyCertSign, so clients refuse what it signed.",
                "RFC 5280 §4.2.1.3 (keyUsage)",
            )
        )
    eku = _get(cert, x509.ExtendedKeyUsage)
    if isinstance(eku, x509.ExtendedKeyUsage) and _SERVER_AUTH not in eku and _ANY not in eku:
        listed = ", ".join(o._name for o in eku) or "(none)"
        out.append(
            _invalid(
                role,
                cert,
                "is not allowed to issue TLS server certificates",
                f"Its extendedKeyUsage lists {listed} (no serverAuth); OpenSSL, browsers and Go "
                "carry the restriction down the path.",
                "extendedKeyUsage in CA certificates (as enforced by clients)",
            )
        )
    nc = _get(cert, x509.NameConstraints)
    if isinstance(nc, x509.NameConstraints):
        out.extend(_nc_findings(path, i, nc))
    return out


def _profile_rules(role: str, cert: x509.Certificate) -> list[Finding]:
    out: list[Finding] = []
    if role != "root" and _get(cert, x509.AuthorityKeyIdentifier) is None:
        out.append(
            _profile(
                role,
                cert,
                "has no authorityKeyIdentifier",
                "Path building works without it, but the web-PKI profile requires it.",
                "CA/B Forum Baseline Requirements §7.1.2 (authorityKeyIdentifier)",
            )
        )
    if role != "leaf" and _get(cert, x509.SubjectKeyIdentifier) is None:
        out.append(
            _profile(
                role,
                cert,
                "has no subjectKeyIdentifier",
                "CA certificates should carry one; clients do not enforce it.",
                "RFC 5280 §4.2.1.2 / CA/B Forum Baseline Requirements §7.1.2",
            )
        )
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey) and key.key_size % 8:
        out.append(
            _profile(
                role,
                cert,
                f"has an RSA modulus of {key.key_size} bits (not a multiple of 8)",
                "Clients accept it; the CA/B Forum requires a modulus size divisible by 8.",
                "CA/B Forum Baseline Requirements §6.1.5 (key sizes)",
            )
        )
    if role == "leaf" and cert.version is not x509.Version.v1:
        eku = _get(cert, x509.ExtendedKeyUsage)
        if eku is None:
            out.append(
                _profile(
                    role,
                    cert,
                    "has no extendedKeyUsage",
                    "Clients accept a leaf without one; the web-PKI profile requires serverAuth.",
                    "CA/B Forum Baseline Requirements §7.1.2.7.10 (extendedKeyUsage)",
                )
            )
        elif isinstance(eku, x509.ExtendedKeyUsage) and _SERVER_AUTH in eku:
            others = [o for o in eku if o not in (_SERVER_AUTH, _CLIENT_AUTH)]
            if others:
                out.append(
                    _profile(
                        role,
                        cert,
                        "lists more purposes than serverAuth/clientAuth",
                        "Extra purposes: " + ", ".join(o._name for o in others) + ".",
                        "CA/B Forum Baseline Requirements §7.1.2.7.10 (extendedKeyUsage)",
                    )
                )
    return out


def weak_findings(path: Sequence[x509.Certificate]) -> list[Finding]:
    """SHA-1/MD5 signatures and keys below RSA 2048 / EC P-256 on the path."""
    out: list[Finding] = []
    for i, cert in enumerate(path):
        role = "leaf" if i == 0 else ("root" if C.is_self_signed(cert) else "intermediate")
        subject = C.name_string(cert.subject)
        digest = C.signature_hash(cert)
        if digest in ("sha1", "md5") and role != "root":
            out.append(
                make_finding(
                    codes.SERVER_WEAK_SIGNATURE,
                    title=f"The {role} certificate is signed with {digest.upper()}",
                    detail=f"{subject} uses {digest.upper()}, which browsers, curl and inspecting "
                    "proxies refuse.",
                    evidence={"certificate": subject, "signature": digest},
                )
            )
        key, bits = C.key_description(cert)
        weak = (key.startswith("RSA") and bits < 2048) or (key.startswith("EC") and bits < 256)
        weak = weak or (key.startswith("DSA") and bits < 2048)
        if weak:
            out.append(
                make_finding(
                    codes.SERVER_WEAK_KEY,
                    title=f"The {role} certificate has a {key}-bit key"
                    if "RSA" in key or "DSA" in key
                    else f"The {role} certificate uses a weak {key} key",
                    detail=f"{subject} uses {key}; the minimum is RSA 2048 or EC P-256.",
                    evidence={"certificate": subject, "key": key},
                )
            )
    return out
