"""Strings from the network (certificate subjects, SNI, host names) never reach a terminal raw:
console output escapes control characters (``\\x1b``, ``\\n``); HTML keeps ``html.escape``;
JSON keeps its own escapes."""

from __future__ import annotations

import json

from tlsdiag import codes
from tlsdiag.model import Finding, Format, Report, Severity
from tlsdiag.render import render_reports
from tlsdiag.render.proxy import event_line
from tlsdiag.render.safe import printable

HOSTILE = "evil\x1b[2J\x1b[31m.test\nOK TLS to bank.test works\x00<script>alert(1)</script>"


def _report() -> Report:
    return Report(
        command="check",
        target=HOSTILE,
        generated_at="2026-01-01T00:00:00Z",
        facts={"chain": [{"subject": f"CN={HOSTILE}", "issuer": f"O={HOSTILE}"}]},
        findings=(
            Finding(
                codes.SERVER_HOSTNAME_MISMATCH,
                Severity.ERROR,
                f"certificate for {HOSTILE}",
                detail=f"issued to {HOSTILE}",
                evidence={"subject": HOSTILE},
            ),
        ),
    )


def test_printable_escapes_control_characters() -> None:
    assert printable("a\x1bb\nc\td\x00\x7f\u2028") == "a\\x1bb\\nc\\td\\x00\\x7f\\u2028"
    assert printable("bücher.test") == "bücher.test"
    assert printable("a\nb", keep_newlines=True) == "a\nb"


def test_console_output_escapes_every_network_string() -> None:
    text = render_reports([_report()], Format.CONSOLE, to_file=True)
    assert text is not None
    assert "\x1b" not in text and "\x00" not in text
    assert "\\x1b[2J" in text
    assert not any(line.startswith("OK TLS to bank.test") for line in text.splitlines())


def test_html_keeps_html_escape() -> None:
    text = render_reports([_report()], Format.HTML)
    assert text is not None
    assert "<script>" not in text and "&lt;script&gt;" in text


def test_json_keeps_its_own_escapes() -> None:
    text = render_reports([_report()], Format.JSON)
    assert text is not None
    assert "\x1b" not in text and json.loads(text)["target"] == HOSTILE


def test_proxy_log_line_cannot_be_forged_by_an_sni() -> None:
    line = event_line({"action": "inspect", "sni": "a.test\n12:00:00 bypass bank.test:443"})
    assert "\n" not in line and "\\n" in line


def test_only_policy_snippets_are_printed_as_lines() -> None:
    from tlsdiag.render.safe import printable, snippet_lines

    rule = printable('[[rule]]\nid = "x"\nhost = "a.test"')
    assert snippet_lines(rule) == ["[[rule]]", 'id = "x"', 'host = "a.test"']
    # a name from the network with a newline stays one escaped line
    assert snippet_lines(printable("evil.test\nOK  forged verdict")) is None
