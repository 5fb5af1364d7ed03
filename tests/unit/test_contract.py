"""The public contract: finding codes, their words, renderers and a fast-starting CLI."""

from __future__ import annotations

import io
import json
import subprocess
import sys

from tlsdiag import codes
from tlsdiag.kb.findings import findings
from tlsdiag.model import Finding, Format, Report, Severity
from tlsdiag.render import render_reports
from tlsdiag.render.term import Console

# The shared CAUSES table (the public contract): every one of these must exist, unchanged.
CAUSES = {
    "interception.detected",
    "client.root_not_trusted",
    "client.store_mismatch",
    "client.clock_skew",
    "app.certificate_pinning",
    "app.mutual_tls",
    "server.cert_expired",
    "server.cert_not_yet_valid",
    "server.chain_incomplete",
    "server.hostname_mismatch",
    "server.untrusted_root",
    "server.self_signed",
    "server.revoked",
    "server.weak_signature",
    "server.weak_key",
    "legacy.protocol_version",
    "legacy.cipher_suite",
    "network.dns_failure",
    "network.connect_failed",
    "network.reset",
    "network.not_tls",
    "site.dependent_domains",
    "domain.newly_published",
    "platform.default_bypass",
    "policy.blocked",
}


def test_every_causes_code_is_registered() -> None:
    assert codes.ALL_CODES >= CAUSES


def test_findings_toml_matches_codes_exactly() -> None:
    assert set(findings()) == set(codes.ALL_CODES)
    for info in findings().values():
        assert info.title and info.meaning and info.next_step
        assert info.where in {"client", "inspection", "server", "network", "info"}


def _report() -> Report:
    return Report(
        command="check",
        target="a.test:443",
        generated_at="2026-11-21T12:00:00Z",
        facts={"handshake": {"version": "TLSv1.3"}},
        findings=(
            Finding("interception.detected", Severity.INFO, "inspected", "by X"),
            Finding(
                "server.cert_expired",
                Severity.ERROR,
                "expired",
                "<b>10 days</b>",
                {"not_after": "2026-11-11"},
                "renew",
            ),
        ),
        tool_version="0",
    )


def test_every_format_renders() -> None:
    for fmt in Format:
        text = render_reports([_report()], fmt, to_file=True)
        assert text and "server.cert_expired" in text, fmt


def test_json_is_stable_and_errors_come_first() -> None:
    doc = json.loads(render_reports([_report()], Format.JSON) or "")
    assert [f["code"] for f in doc["findings"]] == ["server.cert_expired", "interception.detected"]
    assert doc["handshake"] == {"version": "TLSv1.3"}
    assert _report().exit_code == 1


def test_html_escapes() -> None:
    text = render_reports([_report()], Format.HTML) or ""
    assert "&lt;b&gt;10 days&lt;/b&gt;" in text and "<b>10 days</b>" not in text


def test_console_shows_evidence_and_next_step() -> None:
    from tlsdiag.render.console import render_console

    buf = io.StringIO()
    render_console(_report(), Console(file=buf, width=100))
    out = buf.getvalue()
    assert "not_after: 2026-11-11" in out and "next step: renew" in out


def test_cli_import_stays_light() -> None:
    code = (
        "import sys, tlsdiag.cli.app;"
        "heavy=[m for m in ('cryptography','httpx','dns','asyncio','rich.console',"
        "'tlsdiag.render','tlsdiag.net.probe','tlsdiag.core.chain') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_version_and_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tlsdiag", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("tlsdiag ")
