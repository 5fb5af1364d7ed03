"""The pure parts of a support bundle: its default name, its README, the per-step record and
the manifest check of ``bundle show``."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tlsdiag.facts.bundle import StepFacts

FILES = (
    (
        "report.json",
        "every report of this run (bundle, check, issuer, compare, trust, har), "
        "as a JSON array in the tlsdiag.report schema",
    ),
    ("report.html", "the same as one self-contained page: verdicts first, then each host"),
    ("certs/", "the certificate chains the hosts presented, as PEM (certificates only, no keys)"),
    ("har-summary.json", "what the HAR shows (domains, failed requests), from redacted entries"),
    (
        "env.json",
        "OS, versions, time, time zone, clock skew, proxy settings, DNS servers, and "
        "the embedded proxy's events and policy when given",
    ),
    ("README.txt", "this file"),
    ("manifest.json", "sha256 and size of every other file, tool version, creation time"),
)


@dataclass(frozen=True, slots=True)
class Step:
    """One step of the bundle run and how it ended."""

    name: str  # "check good.lab.test:443", "trust matrix", "environment" ...
    status: str  # "ok", "failed", "skipped", "not run"
    detail: str = ""
    seconds: float = 0.0

    def to_dict(self) -> StepFacts:
        """JSON-ready form (``steps[]`` of the bundle report)."""
        return {
            "step": self.name,
            "status": self.status,
            "detail": self.detail,
            "seconds": round(self.seconds, 2),
        }


def default_name(hosts: Sequence[str], now: datetime) -> str:
    """``tlsdiag-bundle-<host>-<UTC time>.zip`` (``-and-N-more`` for several hosts)."""
    first = re.sub(r"[^A-Za-z0-9.-]+", "_", hosts[0]).strip("._") if hosts else "no-host"
    more = f"-and-{len(hosts) - 1}-more" if len(hosts) > 1 else ""
    return f"tlsdiag-bundle-{first or 'host'}{more}-{now.strftime('%Y%m%dT%H%M%SZ')}.zip"


def readme_text(
    *,
    created_at: str,
    tool_version: str,
    command_line: str,
    note: str,
    hosts: Sequence[str],
    steps: Sequence[Step],
    verdicts: Sequence[str],
    har_kept: bool,
) -> str:
    """README.txt: what is inside the bundle and how it was made."""
    lines = [
        "tlsdiag support bundle",
        "======================",
        "",
        f"Created:  {created_at} (UTC) by tlsdiag {tool_version}",
        f"Command:  {command_line}",
        f"Hosts:    {', '.join(hosts)}",
    ]
    if note:
        lines += ["", "Note from the person who made it:", f"  {note}"]
    lines += ["", "Verdicts:"]
    lines += [f"  {v}" for v in verdicts] or ["  (none)"]
    lines += ["", "Steps (each step that failed is recorded; the bundle is written anyway):"]
    for s in steps:
        detail = f" - {s.detail}" if s.detail else ""
        lines.append(f"  [{s.status}] {s.name}{detail}")
    lines += ["", "Files:"]
    lines += [f"  {name:<17} {what}" for name, what in FILES]
    if har_kept:
        lines.append(
            f"  {'har/redacted.har':<17} the HAR, redacted as described below (--keep-har)"
        )
    lines += [
        "",
        "Safety:",
        "  - No private key is ever written; every file was scanned for PEM private keys.",
        "  - From the HAR, Cookie, Set-Cookie, Authorization and Proxy-Authorization headers,",
        "    cookies, credential-looking query and form parameters (token, password, api_key,",
        "    sig ...), JWTs and request/response bodies were removed before anything was written.",
        "  - Proxy credentials in settings (user:password@) are masked.",
        "",
        "Verify: tlsdiag bundle show THIS.zip (checks every sha256 of manifest.json).",
        "",
    ]
    return "\n".join(lines)


def manifest_problems(manifest: Mapping[str, Any] | None, digests: Mapping[str, str]) -> list[str]:
    """What does not match between ``manifest.json`` and the zip's members.

    Args:
        manifest: the parsed manifest (None when missing or unreadable).
        digests: sha256 of every member actually in the zip.

    Returns:
        One line per problem; empty when the bundle is intact.
    """
    if manifest is None:
        return ["manifest.json is missing or unreadable"]
    files = manifest.get("files")
    if not isinstance(files, Mapping):
        return ["manifest.json has no 'files' table"]
    problems = []
    for name, entry in sorted(files.items()):
        want = entry.get("sha256") if isinstance(entry, Mapping) else None
        if name not in digests:
            problems.append(f"{name}: listed in the manifest but missing from the zip")
        elif want != digests[name]:
            problems.append(f"{name}: sha256 does not match the manifest (changed after writing)")
    problems.extend(
        f"{name}: in the zip but not in the manifest (added after writing)"
        for name in sorted(set(digests) - set(files) - {"manifest.json"})
    )
    return problems


def verdict_line(report: Mapping[str, Any]) -> str:
    """One line per report for README and ``bundle show``: command, target, worst finding."""
    findings = report.get("findings") or []
    errors = [f for f in findings if isinstance(f, Mapping) and f.get("severity") == "error"]
    warnings = [f for f in findings if isinstance(f, Mapping) and f.get("severity") == "warning"]
    head = f"{report.get('command', '?')} {report.get('target', '')}".strip()
    if errors:
        codes = ", ".join(dict.fromkeys(str(f.get("code")) for f in errors))
        return f"FAIL  {head}: {codes}"
    if warnings:
        codes = ", ".join(dict.fromkeys(str(f.get("code")) for f in warnings))
        return f"WARN  {head}: {codes}"
    return f"OK    {head}"
