"""``client.root_not_trusted`` / ``client.store_mismatch`` findings from the coverage matrix and
from certificates that share the root's name but not its key. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from tlsdiag import codes
from tlsdiag.core.findings import make_finding
from tlsdiag.core.trust.matrix import MatrixRow
from tlsdiag.core.trust.records import StoreReading
from tlsdiag.core.trust.roots import RootInfo, all_store_certs
from tlsdiag.model import Finding, Severity


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
