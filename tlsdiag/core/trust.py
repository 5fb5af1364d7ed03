"""Does every trust store on this machine trust the inspection root? (pure)

Given the root (a certificate, or just its name when the proxy does not send it) and the store
readings of ``tlsdiag.stores.engine``, build one matrix row per store (does it hold the root,
what overrides it, how to fix it), the findings that follow from the matrix, the health of the
root itself, and the clock check. No files, env, sockets or clock here: ``now`` is an argument.

For ``check``: ``store_gap_summary(root_in_os=..., root_in_certifi=...)`` says which tools fail
when the chain verifies against one of the two but not the other, and
``store_mismatch_finding(...)`` turns that into the ``client.store_mismatch`` finding.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from tlsdiag import codes
from tlsdiag.core.certs import (
    fingerprint,
    is_self_signed,
    key_description,
    signature_hash,
    signed_by,
    spki_sha256,
    utc,
)
from tlsdiag.core.findings import make_finding
from tlsdiag.kb_trust import default_source_for, trust_stores
from tlsdiag.model import Finding, Severity
from tlsdiag.trust_types import SourceReading, StoreCert, StoreReading

EXPIRY_WARNING_DAYS = 180
CLOCK_WARNING_SECONDS = 300
CLOCK_ERROR_SECONDS = 3600
DEFAULT_BUNDLE = "~/.config/tlsdiag/ca-bundle.pem"


# ------------------------------------------------------------------------------------ root


@dataclass(frozen=True, slots=True)
class RootInfo:
    """The root being looked for. ``cert`` is None when only its name is known (the proxy did
    not send it and no store holds a certificate that signed the chain)."""

    subject: str  # RFC 4514
    sha256: str = ""
    spki_sha256: str = ""
    cert: x509.Certificate | None = None
    pem_path: str = ""  # a file holding it, for the fix commands
    origin: str = ""  # how it was chosen: "--ca FILE", "OS store", "chain of HOST" ...

    @property
    def common_name(self) -> str:
        """The CN (or the whole subject when there is none)."""
        match = re.search(r"(?:^|,)CN=((?:[^,\\]|\\.)*)", self.subject)
        return match.group(1).replace("\\", "") if match else self.subject

    def to_dict(self, now: datetime) -> dict[str, Any]:
        """JSON form: subject, fingerprints, validity, key and signature."""
        out: dict[str, Any] = {
            "subject": self.subject,
            "common_name": self.common_name,
            "sha256": self.sha256 or None,
            "spki_sha256": self.spki_sha256 or None,
            "origin": self.origin,
            "not_before": None,
            "not_after": None,
            "days_left": None,
            "key": None,
            "signature_hash": None,
        }
        if self.cert is not None:
            cert = self.cert
            out["not_before"] = utc(cert.not_valid_before_utc)
            out["not_after"] = utc(cert.not_valid_after_utc)
            out["days_left"] = (cert.not_valid_after_utc - now).days
            out["key"] = key_description(cert)[0]
            out["signature_hash"] = signature_hash(cert) or None
        return out


def root_info(cert: x509.Certificate, *, origin: str = "", pem_path: str = "") -> RootInfo:
    """A ``RootInfo`` for a certificate."""
    return RootInfo(
        subject=cert.subject.rfc4514_string(),
        sha256=fingerprint(cert),
        spki_sha256=spki_sha256(cert),
        cert=cert,
        pem_path=pem_path,
        origin=origin,
    )


@dataclass(frozen=True, slots=True)
class PublicRoots:
    """The public root program (certifi): fingerprints of certificates and of keys."""

    sha256: frozenset[str] = frozenset()
    spki: frozenset[str] = frozenset()

    def holds(self, cert: StoreCert) -> bool:
        """Is this certificate (or its key) a public root?"""
        return cert.sha256 in self.sha256 or cert.spki_sha256 in self.spki

    def holds_root(self, root: RootInfo) -> bool:
        """Is the root a public root?"""
        return bool(
            root.sha256 in self.sha256 or (root.spki_sha256 and root.spki_sha256 in self.spki)
        )


def public_roots_from(certs: Iterable[StoreCert]) -> PublicRoots:
    """``PublicRoots`` from the certifi bundle's ``StoreCert`` records."""
    certs = list(certs)
    return PublicRoots(frozenset(c.sha256 for c in certs), frozenset(c.spki_sha256 for c in certs))


def all_store_certs(readings: Sequence[StoreReading]) -> list[tuple[StoreReading, StoreCert]]:
    """Every (store, certificate) pair of the present stores."""
    return [(r, c) for r in readings if r.present for s in r.sources for c in s.certs]


def private_os_roots(readings: Sequence[StoreReading], public: PublicRoots) -> list[StoreCert]:
    """The certificates of the OS stores that are not public roots: where inspection roots live
    (the default selection of ``tlsdiag trust``). Anchors waiting in the input directories of an
    OS store count too: a root dropped there but not yet applied is exactly what we look for."""
    out: dict[str, StoreCert] = {}
    for reading in readings:
        if not (reading.provides_os and reading.present):
            continue
        for cert in [c for s in reading.sources for c in s.certs] + list(reading.anchors):
            if not public.holds(cert) and cert.der:
                out.setdefault(cert.sha256, cert)
    return list(out.values())


def match_fingerprint(readings: Sequence[StoreReading], sha256: str) -> list[StoreCert]:
    """Certificates with this SHA-256 (of the DER, or of the key) in any present store."""
    want = sha256.lower().replace(":", "").strip()
    out: dict[str, StoreCert] = {}
    for reading in readings:
        if not reading.present:
            continue
        for cert in [c for s in reading.sources for c in s.certs] + list(reading.anchors):
            if want in {cert.sha256, cert.spki_sha256} and cert.der:
                out.setdefault(cert.sha256, cert)
    return list(out.values())


def certs_by_subject(
    readings: Sequence[StoreReading], pattern: str, public: PublicRoots | None = None
) -> list[StoreCert]:
    """Certificates whose subject contains ``pattern`` (case-insensitive; ``*`` and ``?`` as
    wildcards), public roots included only when nothing else matches."""
    regex = re.compile(
        ".*".join(re.escape(p) for p in pattern.replace("?", "\0").split("*")).replace("\0", "."),
        re.IGNORECASE,
    )
    out: dict[str, StoreCert] = {}
    for reading in readings:
        if not reading.present:
            continue
        for cert in [c for s in reading.sources for c in s.certs] + list(reading.anchors):
            if regex.search(cert.subject) and cert.der:
                out.setdefault(cert.sha256, cert)
    found = list(out.values())
    if public is not None:
        private = [c for c in found if not public.holds(c)]
        return private or found
    return found


def issuer_candidates(
    top: x509.Certificate, readings: Sequence[StoreReading]
) -> tuple[list[StoreCert], list[StoreCert]]:
    """For the last certificate a server presented: the store certificates that signed it, and
    those that only carry the issuer's name (an older or newer root with another key)."""
    signers: dict[str, StoreCert] = {}
    namesakes: dict[str, StoreCert] = {}
    want = top.issuer.rfc4514_string()
    for _, cert in all_store_certs(readings):
        if cert.subject != want or not cert.der:
            continue
        if cert.sha256 in signers or cert.sha256 in namesakes:
            continue
        try:
            candidate = x509.load_der_x509_certificate(cert.der)
        except ValueError:
            continue
        if signed_by(top, candidate):
            signers[cert.sha256] = cert
        else:
            namesakes[cert.sha256] = cert
    return list(signers.values()), list(namesakes.values())


# ---------------------------------------------------------------------------------- matrix


@dataclass(frozen=True, slots=True)
class MatrixRow:
    """One line of the coverage matrix."""

    id: str
    name: str
    kind: str
    instance: str
    present: bool
    trusts_root: bool | None
    status: str
    location: str
    overridden_by: tuple[str, ...] = ()
    fix: Mapping[str, Any] | None = None
    detail: str = ""
    consumers: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    provides_os: bool = False
    sources: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``stores[]`` of ``trust --json``)."""
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "instance": self.instance or None,
            "present": self.present,
            "trusts_root": self.trusts_root,
            "status": self.status,
            "location": self.location or None,
            "overridden_by": list(self.overridden_by),
            "fix": dict(self.fix) if self.fix else None,
            "detail": self.detail,
            "consumers": list(self.consumers),
            "notes": list(self.notes),
            "sources": list(self.sources),
        }


@dataclass(frozen=True, slots=True)
class _Verdict:
    trusted: bool | None
    status: str
    detail: str = ""


def _cert_verdict(root: RootInfo, certs: Sequence[StoreCert], now: datetime) -> _Verdict:
    """Does this list of certificates hold the root as a usable trust anchor?"""
    exact = [c for c in certs if root.sha256 and c.sha256 == root.sha256]
    same_key = [
        c
        for c in certs
        if root.spki_sha256 and c.spki_sha256 == root.spki_sha256 and c not in exact
    ]
    namesakes = [c for c in certs if c.subject == root.subject and c not in exact + same_key]
    for group, how in ((exact, ""), (same_key, " (same key, another certificate)")):
        usable = [c for c in group if c.trusted]
        if usable:
            fresh = [c for c in usable if not c.not_after or c.not_after > utc(now)]
            if fresh:
                return _Verdict(True, "trusted", f"holds the root{how}")
            return _Verdict(False, "present-expired", f"holds only an expired copy{how}")
        if group:
            return _Verdict(False, "present-untrusted", group[0].why_untrusted)
    if namesakes:
        other = namesakes[0]
        return _Verdict(
            False,
            "rotated",
            f"holds a root with the same name but another key (valid until {other.not_after}): "
            "an older or newer root, not the one that signs",
        )
    return _Verdict(False, "missing", "does not hold the root")


_ORDER = {True: 0, None: 1, False: 2}


class _Resolver:
    """Resolves delegations (``os``, ``certifi``, ``node`` ...) between readings."""

    def __init__(
        self,
        root: RootInfo,
        readings: Sequence[StoreReading],
        public: PublicRoots,
        now: datetime,
    ) -> None:
        self.root = root
        self.readings = readings
        self.public = public
        self.now = now
        self._memo: dict[str, _Verdict] = {}
        self._active: set[str] = set()

    def targets(self, store_id: str) -> list[StoreReading]:
        if store_id == "os":
            return [r for r in self.readings if r.provides_os and r.present]
        return [r for r in self.readings if r.id == store_id and r.present]

    def store(self, reading: StoreReading) -> _Verdict:
        key = f"{reading.id}|{reading.instance}"
        if key in self._memo:
            return self._memo[key]
        if key in self._active:
            return _Verdict(None, "unknown", "delegation loop")
        self._active.add(key)
        verdict = self._store(reading)
        self._active.discard(key)
        self._memo[key] = verdict
        return verdict

    def source(self, source: SourceReading) -> _Verdict:
        if source.disabled:
            return _Verdict(None, "verification-disabled", f"{source.label}: verification is off")
        if source.missing:
            return _Verdict(False, "file-missing", f"{source.label}: the file does not exist")
        if source.error:
            return _Verdict(None, "unreadable", source.error)
        if source.public_only:
            if self.public.holds_root(self.root):
                return _Verdict(True, "trusted", f"{source.label} holds public roots only")
            return _Verdict(False, "missing", f"{source.label}: public roots only")
        if source.kind == "builtin":
            return _Verdict(None, "unknown", source.label)
        if source.delegate_to:
            verdicts = []
            for target in source.delegate_to:
                found = self.targets(target)
                if not found:
                    verdicts.append(_Verdict(None, "unknown", f"{target} not found here"))
                verdicts.extend(self.store(r) for r in found)
            return _combine(verdicts, via=" + ".join(source.delegate_to))
        return _cert_verdict(self.root, source.certs, self.now)

    def _store(self, reading: StoreReading) -> _Verdict:
        counted = [s for s in reading.sources if not s.partial]
        if not counted:
            return _Verdict(None, "unknown", "no store found for this tool")
        verdict = _combine([self.source(s) for s in counted])
        if verdict.trusted is False and reading.anchors:
            waiting = _cert_verdict(self.root, reading.anchors, self.now)
            if waiting.trusted:
                return _Verdict(
                    False,
                    "anchor-not-applied",
                    f"the root is in {_first_where(reading.anchors, self.root)} but not in "
                    f"the bundle: `{reading.anchor_update}` was not run",
                )
        return verdict


def _first_where(certs: Sequence[StoreCert], root: RootInfo) -> str:
    for cert in certs:
        if cert.sha256 == root.sha256 or cert.spki_sha256 == root.spki_sha256:
            return cert.where or "the anchor directory"
    return "the anchor directory"


def _combine(verdicts: Sequence[_Verdict], via: str = "") -> _Verdict:
    """Trusted if any source trusts; unknown if none does and one is unknown; else the most
    telling failure."""
    if not verdicts:
        return _Verdict(None, "unknown", "")
    best = sorted(verdicts, key=lambda v: _ORDER[v.trusted])[0]
    if best.trusted is False:
        telling = [v for v in verdicts if v.status != "missing"]
        best = telling[0] if telling else best
    detail = f"via {via}: {best.detail}" if via and best.detail else best.detail
    return _Verdict(best.trusted, best.status, detail)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:48]


def fix_variables(root: RootInfo, bundle: str = DEFAULT_BUNDLE) -> dict[str, str]:
    """The values of ``${ROOT_PEM}``, ``${ROOT_ALIAS}``, ``${ROOT_NAME}``, ``${BUNDLE_PEM}``."""
    alias = _slug(root.common_name) or f"inspection-root-{root.sha256[:8]}"
    return {
        "ROOT_PEM": root.pem_path or f"{alias}.pem",
        "ROOT_ALIAS": alias,
        "ROOT_NAME": root.common_name,
        "BUNDLE_PEM": bundle,
    }


def render_steps(steps: Iterable[str], variables: Mapping[str, str]) -> list[str]:
    """Fill the root placeholders of fix steps."""
    out = []
    for step in steps:
        for key, value in variables.items():
            step = step.replace("${" + key + "}", value)
        out.append(step)
    return out


def _location(reading: StoreReading, resolver: _Resolver) -> str:
    parts = []
    for source in reading.sources:
        if source.delegate_to:
            names = list(
                dict.fromkeys(r.id for t in source.delegate_to for r in resolver.targets(t))
            )
            if not names or names == list(source.delegate_to):
                parts.append(source.label)
            else:
                parts.append(f"{source.label} -> {', '.join(names)}")
        elif source.kind in {"env", "config", "jvm-option"} or not source.path:
            parts.append(source.label)
        else:
            parts.append(source.path)
    return "; ".join(parts)


def _incomplete_override(reading: StoreReading, public: PublicRoots) -> SourceReading | None:
    """An override that replaces the default store with a file holding no public root."""
    for source in reading.sources:
        if not source.replaces_default or not source.certs or source.delegate_to:
            continue
        if not any(public.holds(c) for c in source.certs):
            return source
    return None


def _points_at_os(reading: StoreReading, os_paths: set[str]) -> str:
    """The env var or config key of this store that points at the OS bundle ("" if none)."""
    if reading.provides_os:
        return ""
    for source in reading.sources:
        if (source.replaces_default or source.extends) and source.path in os_paths:
            return source.label.split("=", 1)[0]
    return ""


def build_matrix(
    root: RootInfo,
    readings: Sequence[StoreReading],
    public: PublicRoots,
    now: datetime,
    *,
    bundle: str = DEFAULT_BUNDLE,
) -> list[MatrixRow]:
    """One row per store reading: does the store trust the root, what overrides it, the fix."""
    resolver = _Resolver(root, readings, public, now)
    variables = fix_variables(root, bundle)
    os_readings = [r for r in readings if r.provides_os and r.present]
    os_paths = {s.path for r in os_readings for s in r.sources if s.path}
    os_steps = next(
        (render_steps(r.fix.steps, {**variables, **r.variables}) for r in os_readings if r.fix),
        ["install the root in the operating system's trust store"],
    )
    rows = []
    for reading in readings:
        if not reading.present:
            rows.append(
                MatrixRow(
                    id=reading.id,
                    name=reading.name,
                    kind=reading.kind,
                    instance=reading.instance,
                    present=False,
                    trusts_root=None,
                    status="absent",
                    location="",
                    consumers=reading.consumers,
                    provides_os=reading.provides_os,
                    sources=reading.sources_urls,
                )
            )
            continue
        verdict = resolver.store(reading)
        status, detail = verdict.status, verdict.detail
        incomplete = _incomplete_override(reading, public) if verdict.trusted else None
        fix: dict[str, Any] | None = None
        if incomplete is not None:
            status = "override-incomplete"
            name = incomplete.label.split("=", 1)[0]
            detail = (
                f"{name} replaces the default store with {incomplete.path}, which holds "
                f"{len(incomplete.certs)} certificate(s) and no public root: sites that are not "
                "inspected (bypassed) will fail"
            )
            public_source = next(iter(sorted(os_paths)), "") or "$(python3 -m certifi)"
            fix = {
                "steps": [f'cat "{public_source}" >> "{incomplete.path}"   # add the public roots'],
                "scope": "user",
                "note": (
                    f"or point {name} at a complete bundle (public roots plus the inspection "
                    "root), or remove it so the tool uses its default store"
                ),
            }
        elif verdict.trusted is False:
            if status == "anchor-not-applied":
                fix = {"steps": [reading.anchor_update], "scope": "system", "note": ""}
            elif pointer := _points_at_os(reading, os_paths):
                fix = {
                    "steps": os_steps,
                    "scope": "system",
                    "note": f"{pointer} points at the OS bundle",
                }
            elif reading.fix is not None:
                local = {
                    **variables,
                    "STORE_PATH": reading.variables.get("STORE_PATH", ""),
                    "OVERRIDE": reading.variables.get("OVERRIDE", ""),
                }
                steps: list[str] = []
                for step in render_steps(reading.fix.steps, local):
                    steps.extend(os_steps if step == "@os-fix" else [step])
                fix = {
                    "steps": steps,
                    "scope": "system" if "@os-fix" in reading.fix.steps else reading.fix.scope,
                    "note": render_steps([reading.fix.note], local)[0],
                }
        notes = list(reading.notes)
        notes.extend(
            f"{path} is ignored by the update tool (wrong file name extension)"
            for path in reading.anchor_ignored
        )
        partial = [s for s in reading.sources if s.partial]
        for source in partial:
            hit = _cert_verdict(root, source.certs, now)
            if hit.trusted:
                notes.append(f"the root is in {source.path} ({source.label} only)")
        rows.append(
            MatrixRow(
                id=reading.id,
                name=reading.name,
                kind=reading.kind,
                instance=reading.instance,
                present=True,
                trusts_root=verdict.trusted,
                status=status,
                location=_location(reading, resolver),
                overridden_by=tuple(
                    s.label.split("=", 1)[0]
                    for s in reading.sources
                    if s.replaces_default or s.extends
                ),
                fix=fix,
                detail=detail,
                consumers=reading.consumers,
                notes=tuple(notes),
                provides_os=reading.provides_os,
                sources=reading.sources_urls,
            )
        )
    return rows


# -------------------------------------------------------------------------------- findings


def _row_name(row: MatrixRow) -> str:
    return f"{row.name} [{row.instance}]" if row.instance else row.name


def _fix_text(row: MatrixRow) -> str:
    if not row.fix:
        return ""
    text = "; ".join(row.fix["steps"])
    return f"{text} ({row.fix['note']})" if row.fix.get("note") else text


def matrix_findings(root: RootInfo, rows: Sequence[MatrixRow]) -> list[Finding]:
    """``client.root_not_trusted`` / ``client.store_mismatch`` findings from the matrix.

    A failing store is a *mismatch* when another store on this machine trusts the root (the
    browser works, this tool does not), and *not trusted* when no store does.
    """
    present = [r for r in rows if r.present]
    trusted = [r for r in present if r.trusts_root is True]
    failing = [r for r in present if r.trusts_root is False]
    out: list[Finding] = []
    if not trusted and failing:
        os_rows = [r for r in failing if r.provides_os] or failing
        first = os_rows[0]
        out.append(
            make_finding(
                codes.CLIENT_ROOT_NOT_TRUSTED,
                detail=(
                    f"No trust store on this machine trusts {root.common_name!r}: "
                    + ", ".join(_row_name(r) for r in failing)
                    + "."
                ),
                evidence={
                    "root": root.subject,
                    "sha256": root.sha256 or "(unknown: the root certificate is not available)",
                    "stores": ", ".join(r.id for r in failing),
                    "status": first.status,
                },
                remediation=(
                    f"Install the root in the OS store: {_fix_text(first)}; then re-run "
                    "`tlsdiag trust` for the stores that keep their own copy."
                    if _fix_text(first)
                    else None
                ),
            )
        )
        return out
    for row in failing:
        code = codes.CLIENT_STORE_MISMATCH
        title = f"{_row_name(row)} does not trust the inspection root"
        if row.status == "rotated":
            code = codes.CLIENT_ROOT_NOT_TRUSTED
            title = f"{_row_name(row)} holds another root with the same name (rotated root)"
        out.append(
            make_finding(
                code,
                title=title,
                detail=(
                    f"{row.detail}. Trusted by: {', '.join(_row_name(r) for r in trusted)}. "
                    f"Affects: {', '.join(row.consumers) or row.name}."
                ),
                evidence={
                    "store": row.id,
                    "location": row.location or "-",
                    "status": row.status,
                    **(
                        {"overridden_by": ", ".join(row.overridden_by)} if row.overridden_by else {}
                    ),
                },
                remediation=_fix_text(row) or None,
            )
        )
    out.extend(
        make_finding(
            codes.CLIENT_STORE_MISMATCH,
            severity=Severity.WARNING,
            title=f"{_row_name(row)}: the override holds no public root",
            detail=row.detail,
            evidence={"store": row.id, "location": row.location or "-"},
            remediation=_fix_text(row) or None,
        )
        for row in present
        if row.status == "override-incomplete"
    )
    return out


def duplicate_findings(root: RootInfo, readings: Sequence[StoreReading]) -> list[Finding]:
    """Certificates with the root's name but another key, and where they are."""
    if not root.spki_sha256:
        return []
    where: dict[str, list[str]] = {}
    for reading, cert in all_store_certs(readings):
        if cert.subject == root.subject and cert.spki_sha256 != root.spki_sha256:
            label = f"{reading.id}{'[' + reading.instance + ']' if reading.instance else ''}"
            where.setdefault(cert.sha256, [])
            if label not in where[cert.sha256]:
                where[cert.sha256].append(label)
    if not where:
        return []
    return [
        make_finding(
            codes.CLIENT_STORE_MISMATCH,
            severity=Severity.WARNING,
            title="Another root with the same name but a different key is installed",
            detail=(
                f"{len(where)} other certificate(s) named {root.common_name!r} with another key: "
                "after a root rotation, a store that kept only the old one fails."
            ),
            evidence={f"sha256 {fp[:16]}...": ", ".join(stores) for fp, stores in where.items()},
            remediation=(
                "Keep the current root in every store, and remove the old one once it is no "
                "longer used to sign."
            ),
        )
    ]


def _ext(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> x509.Extension[Any] | None:
    try:
        return cert.extensions.get_extension_for_oid(oid)
    except x509.ExtensionNotFound:
        return None


def presented_cert_is_ca(cert: x509.Certificate) -> bool:
    """basicConstraints CA:TRUE."""
    bc = _ext(cert, ExtensionOID.BASIC_CONSTRAINTS)
    return bc is not None and isinstance(bc.value, x509.BasicConstraints) and bc.value.ca


def strict_x509_problems(cert: x509.Certificate) -> list[str]:
    """What OpenSSL's ``X509_STRICT`` (Python >= 3.13 default) rejects in a CA certificate
    (checked with ``openssl verify -x509_strict``: errors 89, 92, 86 and, for the certificates
    it signs, 85 "Missing Authority Key Identifier")."""
    problems = []
    bc = _ext(cert, ExtensionOID.BASIC_CONSTRAINTS)
    if bc is None or not isinstance(bc.value, x509.BasicConstraints) or not bc.value.ca:
        problems.append("no basicConstraints CA:TRUE")
    elif not bc.critical:
        problems.append("basicConstraints is not marked critical")
    ku = _ext(cert, ExtensionOID.KEY_USAGE)
    if ku is None:
        problems.append("no keyUsage extension")
    elif isinstance(ku.value, x509.KeyUsage) and not ku.value.key_cert_sign:
        problems.append("keyUsage lacks keyCertSign")
    if _ext(cert, ExtensionOID.SUBJECT_KEY_IDENTIFIER) is None:
        problems.append("no subjectKeyIdentifier")
    if not is_self_signed(cert) and _ext(cert, ExtensionOID.AUTHORITY_KEY_IDENTIFIER) is None:
        problems.append("no authorityKeyIdentifier")
    return problems


def root_health_findings(
    root: RootInfo,
    now: datetime,
    *,
    presented: Sequence[x509.Certificate] = (),
    namesakes: Sequence[StoreCert] = (),
    warn_days: int = EXPIRY_WARNING_DAYS,
) -> list[Finding]:
    """The root's own health: validity (warned ``warn_days`` ahead), key and signature
    strength, strict-X.509 acceptability, and whether it is the root that signed the chain the
    client sees (``presented``, leaf first)."""
    out: list[Finding] = []
    evidence = {"root": root.subject, "sha256": root.sha256 or "-"}
    if presented and root.cert is None:
        others = ", ".join(f"{c.sha256[:16]}... (until {c.not_after})" for c in namesakes)
        out.append(
            make_finding(
                codes.CLIENT_ROOT_NOT_TRUSTED,
                title="No store here holds the root that signed this chain",
                detail=(
                    f"The chain is signed by {root.subject!r}; "
                    + (
                        f"the stores hold certificates with that name but another key ({others}): "
                        "the root was rotated and this machine has the other one."
                        if namesakes
                        else "no store on this machine has a certificate with that name."
                    )
                ),
                evidence=evidence,
            )
        )
        return out
    cert = root.cert
    if cert is None:
        return out
    if presented:
        top = presented[-1]
        if fingerprint(top) != root.sha256 and not signed_by(top, cert):
            out.append(
                make_finding(
                    codes.CLIENT_ROOT_NOT_TRUSTED,
                    title="The root you looked for did not sign the chain the server presents",
                    detail=(
                        f"The presented chain ends at {top.subject.rfc4514_string()!r}, issued by "
                        f"{top.issuer.rfc4514_string()!r}, which {root.common_name!r} did not "
                        "sign. A rotated inspection root is the usual cause."
                    ),
                    evidence={**evidence, "chain_top_issuer": top.issuer.rfc4514_string()},
                )
            )
    not_after = cert.not_valid_after_utc
    not_before = cert.not_valid_before_utc
    days = (not_after - now) / timedelta(days=1)
    validity = {**evidence, "not_after": utc(not_after)}
    if not_after <= now:
        out.append(
            make_finding(
                codes.SERVER_CERT_EXPIRED,
                title="The inspection root has expired",
                detail=f"{root.common_name!r} expired on {utc(not_after)}.",
                evidence=validity,
                remediation=(
                    "The inspection administrator must issue a new root and deploy it to every "
                    "store before switching the proxy to it."
                ),
            )
        )
    elif days <= warn_days:
        out.append(
            make_finding(
                codes.SERVER_CERT_EXPIRED,
                severity=Severity.WARNING,
                title=f"The inspection root expires in {int(days)} days",
                detail=f"{root.common_name!r} is valid until {utc(not_after)}.",
                evidence=validity,
                remediation=(
                    "Plan the rotation now: deploy the new root to every store (see the matrix) "
                    "before the proxy starts signing with it."
                ),
            )
        )
    if not_before > now:
        out.append(
            make_finding(
                codes.SERVER_CERT_NOT_YET_VALID,
                title="The inspection root is not valid yet",
                detail=f"{root.common_name!r} is valid from {utc(not_before)}.",
                evidence={**evidence, "not_before": utc(not_before)},
            )
        )
    key, bits = key_description(cert)
    if (key.startswith("RSA") and bits < 2048) or (key.startswith("EC") and bits < 256):
        out.append(
            make_finding(
                codes.SERVER_WEAK_KEY,
                title=f"The inspection root has a weak key ({key})",
                detail=(
                    "Current clients reject RSA keys below 2048 bits and EC keys below 256 bits."
                ),
                evidence={**evidence, "key": key},
                remediation="The inspection administrator must issue a root with a stronger key.",
            )
        )
    sig = signature_hash(cert)
    if sig in {"md5", "sha1"}:
        out.append(
            make_finding(
                codes.SERVER_WEAK_SIGNATURE,
                severity=Severity.WARNING,
                title=f"The inspection root is self-signed with {sig.upper()}",
                detail=(
                    "Most clients do not check a trust anchor's own signature, but strict ones "
                    "and some compliance scanners reject it."
                ),
                evidence={**evidence, "signature_hash": sig},
                remediation="Reissue the root with SHA-256 or better at the next rotation.",
            )
        )
    problems = strict_x509_problems(cert)
    for presented_cert in presented:
        if fingerprint(presented_cert) == root.sha256:
            continue
        name = presented_cert.subject.rfc4514_string()
        if presented_cert_is_ca(presented_cert):
            problems += [f"{name}: {p}" for p in strict_x509_problems(presented_cert)]
        elif _ext(presented_cert, ExtensionOID.AUTHORITY_KEY_IDENTIFIER) is None:
            problems.append(f"{name}: no authorityKeyIdentifier")
    if problems:
        out.append(
            make_finding(
                codes.CLIENT_STORE_MISMATCH,
                severity=Severity.WARNING,
                title="Python 3.13+ clients reject this chain even where the root is installed",
                detail=(
                    "Python 3.13 turns on strict X.509 verification (VERIFY_X509_STRICT), which "
                    "rejects this root: " + "; ".join(problems) + "."
                ),
                evidence={**evidence, "problems": "; ".join(problems)},
                remediation=(
                    "Reissue the root with critical basicConstraints CA:TRUE, keyUsage "
                    "keyCertSign and a subjectKeyIdentifier; meanwhile affected apps (e.g. Azure "
                    "CLI 2.77+) need a bypass rule."
                ),
            )
        )
    return out


# ------------------------------------------------------------------------ for the check command


@dataclass(frozen=True, slots=True)
class StoreGap:
    """Which tools fail when the root is in one of (OS store, certifi) but not the other."""

    failing: tuple[str, ...]
    working: tuple[str, ...]
    store_ids: tuple[str, ...]  # catalogue ids of the failing stores
    detail: str
    unknown: tuple[str, ...] = field(default=())  # stores with their own files: audit them


def tools_failing_for(
    root_in_os: bool, root_in_certifi: bool, platform: str | None = None
) -> list[str]:
    """Tools that fail by default (no override) given where the root is."""
    gap = store_gap_summary(
        root_in_os=root_in_os, root_in_certifi=root_in_certifi, platform=platform
    )
    return list(gap.failing)


def store_gap_summary(
    *, root_in_os: bool, root_in_certifi: bool, platform: str | None = None
) -> StoreGap:
    """From the catalogue's ``default_source`` of each store: which tools fail by default.

    Args:
        root_in_os: the chain verifies against the OS store.
        root_in_certifi: the chain verifies against certifi (the public bundle).
        platform: ``linux``, ``macos`` or ``windows`` to keep only that platform's stores and
            defaults (None: every store, generic defaults).

    Returns:
        The failing and working tool names (deduplicated, catalogue order), the failing store
        ids, one sentence for a finding, and the stores with their own files (Java, Firefox)
        whose answer needs ``tlsdiag trust``.
    """
    failing: dict[str, None] = {}
    working: dict[str, None] = {}
    ids: list[str] = []
    unknown: list[str] = []
    for store in trust_stores():
        if store.provides_os or (platform and platform not in store.platforms):
            continue
        match default_source_for(store, platform):
            case "os":
                ok: bool | None = root_in_os
            case "certifi" | "public":
                ok = root_in_certifi
            case _:
                ok = None
        if ok is None:
            unknown.append(store.id)
            continue
        target = working if ok else failing
        for tool in store.consumers or (store.name,):
            target.setdefault(tool, None)
        if not ok:
            ids.append(store.id)
    for tool in list(working):
        if tool in failing:
            del working[tool]
    if root_in_os and not root_in_certifi:
        detail = (
            "The chain verifies against the OS store but not against certifi: the browser and "
            "OS-store tools work, tools with their own bundle fail: " + ", ".join(failing) + "."
        )
    elif root_in_certifi and not root_in_os:
        detail = (
            "The chain verifies against certifi but not against the OS store: "
            + ", ".join(failing)
            + " fail."
        )
    elif not root_in_os and not root_in_certifi:
        detail = "The chain verifies against neither the OS store nor certifi."
    else:
        detail = "The chain verifies against both the OS store and certifi."
    return StoreGap(tuple(failing), tuple(working), tuple(ids), detail, tuple(unknown))


def store_mismatch_finding(
    *,
    root_in_os: bool,
    root_in_certifi: bool,
    root_subject: str = "",
    platform: str | None = None,
    severity: Severity | None = None,
) -> Finding | None:
    """The ``client.store_mismatch`` finding for ``check`` (None when both agree).

    Args:
        root_in_os: the chain verifies against the OS store.
        root_in_certifi: the chain verifies against certifi.
        root_subject: the root's name, for the evidence.
        platform: ``linux`` / ``macos`` / ``windows`` (None: every platform's stores).
        severity: overrides the code's default (error), e.g. a warning from ``check``.

    Returns:
        The finding, naming the tools that fail by default, or None.
    """
    if root_in_os == root_in_certifi:
        return None
    gap = store_gap_summary(
        root_in_os=root_in_os, root_in_certifi=root_in_certifi, platform=platform
    )
    return make_finding(
        codes.CLIENT_STORE_MISMATCH,
        severity=severity,
        detail=gap.detail,
        evidence={
            **({"root": root_subject} if root_subject else {}),
            "os_store": "trusts" if root_in_os else "does not trust",
            "certifi": "trusts" if root_in_certifi else "does not trust",
            "failing_tools": ", ".join(gap.failing),
        },
        remediation=(
            "Run `tlsdiag trust --from-host HOST` for the exact fix per store (for Python tools: "
            "REQUESTS_CA_BUNDLE pointing at a bundle of the public roots plus the inspection root)."
        ),
    )


# ---------------------------------------------------------------------------------- clock


def clock_check(
    *,
    local_utc: datetime,
    server_date: str,
    host: str,
    tz_name: str,
    utc_offset_seconds: int,
    round_trip_seconds: float = 0.0,
) -> tuple[dict[str, Any], list[Finding]]:
    """Compare the local clock with a server's HTTP ``Date`` header.

    Args:
        local_utc: the local clock (aware, UTC) when the response arrived.
        server_date: the ``Date`` header as sent ("" when absent).
        host: the host that answered.
        tz_name: the local time zone name; utc_offset_seconds: its offset.
        round_trip_seconds: the request's duration (tolerance; Date has 1 s resolution).

    Returns:
        JSON-ready facts and a ``client.clock_skew`` finding when the skew exceeds 5 minutes
        (warning) or 1 hour (error).
    """
    hours, rem = divmod(abs(utc_offset_seconds), 3600)
    offset = f"{'+' if utc_offset_seconds >= 0 else '-'}{hours:02d}:{rem // 60:02d}"
    facts: dict[str, Any] = {
        "host": host,
        "local_utc": utc(local_utc),
        "time_zone": tz_name,
        "utc_offset": offset,
        "server_date": server_date or None,
        "skew_seconds": None,
    }
    if not server_date:
        facts["error"] = "the server sent no Date header"
        return facts, []
    try:
        server = parsedate_to_datetime(server_date)
    except (TypeError, ValueError, IndexError):
        facts["error"] = f"unparseable Date header {server_date!r}"
        return facts, []
    if server.tzinfo is None:
        facts["error"] = f"Date header without a time zone {server_date!r}"
        return facts, []
    skew = (local_utc - server).total_seconds()
    facts["skew_seconds"] = round(skew, 1)
    size = abs(skew) - round_trip_seconds - 1
    if size <= CLOCK_WARNING_SECONDS:
        return facts, []
    severity = Severity.ERROR if size > CLOCK_ERROR_SECONDS else Severity.WARNING
    direction = "ahead of" if skew > 0 else "behind"
    return facts, [
        make_finding(
            codes.CLIENT_CLOCK_SKEW,
            severity=severity,
            detail=(
                f"This machine's clock is {_duration(abs(skew))} {direction} {host}'s clock "
                f"(time zone {tz_name}, UTC{offset})."
            ),
            evidence={
                "local_utc": utc(local_utc),
                "server_date": server_date,
                "skew_seconds": f"{skew:.0f}",
                "time_zone": f"{tz_name} (UTC{offset})",
            },
        )
    ]


def _duration(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 60:.0f} minutes"
