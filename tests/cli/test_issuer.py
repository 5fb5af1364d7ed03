"""`tlsdiag issuer` command line: usage errors, output formats, console rendering, fast import."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from tlsdiag.cli.app import app
from tlsdiag.model import Finding, Format, Report, Severity
from tlsdiag.render import render_reports
from tlsdiag.render.issuer import render_issuer
from tlsdiag.render.term import Console

runner = CliRunner()


def test_help_lists_the_issuer_options():
    result = runner.invoke(app, ["issuer", "--help"])
    assert result.exit_code == 0
    for option in (
        "--expect-issuer",
        "--expect-fingerprint",
        "--app",
        "--platform",
        "--vendor",
        "--resolve",
        "--cafile",
        "--servername",
        "--json",
    ):
        assert option in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--platform", "beos"], "--platform 'beos'"),
        (["--expect-issuer", "Zscaler ("], "not a valid regular expression"),
        (["--expect-fingerprint", "12:34"], "64 hex digits"),
        (["--vendor", "acme-proxy"], "unknown vendor id"),
        (["-4", "-6"], "-4 and -6"),
        (["--no-sni", "--servername", "a.example.com"], "--no-sni"),
    ],
)
def test_bad_usage_exits_2_with_one_line_and_no_traceback(args, message):
    # 127.0.0.1:9 would refuse, but usage is checked before any connection is made.
    result = runner.invoke(app, ["issuer", "127.0.0.1:9", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_missing_target_is_a_usage_error():
    result = runner.invoke(app, ["issuer"])
    assert result.exit_code == 2


def _report(inspected: bool | None) -> Report:
    verdict = None
    if inspected is not None:
        verdict = {
            "inspected": inspected,
            "tls_inspection": int(inspected),
            "vendor": "Zscaler" if inspected else None,
            "vendor_id": "zscaler" if inspected else None,
            "kind": "sase" if inspected else None,
            "confidence": "high",
            "reasons": ["the issuer name 'CN=Zscaler Intermediate Root CA' matches Zscaler"]
            if inspected
            else ["the chain ends at 'CN=ISRG Root X1', a root of the public root program"],
            "issuer": "CN=Zscaler Intermediate Root CA" if inspected else "CN=R11, O=Let's Encrypt",
            "root": "CN=Zscaler Root CA" if inspected else "CN=ISRG Root X1",
            "root_sha256": "ab" * 32,
            "public_root": not inspected,
        }
    findings: tuple[Finding, ...] = ()
    if inspected:
        findings = (
            Finding(
                code="interception.detected",
                severity=Severity.INFO,
                title="This connection is inspected (Zscaler)",
                detail="issued by Zscaler",
            ),
        )
    return Report(
        command="issuer",
        target="www.example.com:443",
        generated_at="2026-11-21T12:00:00Z",
        facts={
            "verdict": "unknown" if inspected is None else "inspected" if inspected else "direct",
            "tls_inspection": None if inspected is None else int(inspected),
            "interception": verdict,
            "trusted_by": {"public (certifi)": not inspected, "os": True},
            "inspection_roots_trusted_here": [
                {"vendor_id": "zscaler", "root": "CN=Zscaler Root CA"}
            ],
            "presented_chain": [
                {
                    "subject": "CN=www.example.com",
                    "issuer": "CN=Zscaler Intermediate Root CA",
                    "sha256": "cd" * 32,
                    "not_before": "2026-11-01T00:00:00Z",
                    "not_after": "2026-11-15T00:00:00Z",
                    "sct_count": 0,
                }
            ],
        },
        findings=findings,
        tool_version="0.0.0",
    )


def render(report: Report) -> str:
    buf = io.StringIO()
    render_issuer(report, Console(file=buf, width=120, no_color=True))
    return buf.getvalue()


def test_console_shows_an_inspected_verdict_first():
    text = render(_report(True))
    first = text.splitlines()[1]
    assert "INSPECTED by Zscaler" in first and "TLS Inspection = 1" in first
    assert "confidence high" in first
    assert "CN=Zscaler Root CA" in text
    assert "matches Zscaler" in text
    assert "inspection roots trusted here: zscaler" in text
    assert "This connection is inspected (Zscaler)" in text


def test_console_shows_a_direct_verdict():
    text = render(_report(False))
    assert "DIRECT (public CA)" in text and "TLS Inspection = 0" in text
    assert "No problems found." in text


def test_console_without_a_certificate():
    text = render(_report(None))
    assert "No certificate was seen" in text


def test_json_puts_the_verdict_at_the_top_level():
    text = render_reports([_report(True)], Format.JSON)
    assert text is not None
    data = json.loads(text)
    assert data["command"] == "issuer"
    assert data["verdict"] == "inspected" and data["tls_inspection"] == 1
    assert set(data["interception"]) >= {"inspected", "vendor", "confidence", "reasons"}
    assert data["findings"][0]["code"] == "interception.detected"


def test_html_escapes_and_contains_the_vendor():
    text = render_reports([_report(True)], Format.HTML)
    assert text is not None and "Zscaler" in text and "<script" not in text


def test_importing_the_command_stays_light():
    code = (
        "import sys, tlsdiag.cli.issuer; "
        "heavy = [m for m in ('cryptography', 'httpx', 'rich', 'tlsdiag.render', 'asyncio') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
