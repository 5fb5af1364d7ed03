"""``tlsdiag explain``: text, stdin, --file, JSON, inspection options, bad input, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from tlsdiag.cli.app import app

runner = CliRunner()

LOCAL_ISSUER = "curl: (60) SSL certificate problem: unable to get local issuer certificate"

CURL_TRANSCRIPT = """\
*   Trying 93.184.216.34:443...
* Connected to www.example.com (93.184.216.34) port 443
* ALPN: curl offers h2,http/1.1
* TLSv1.3 (OUT), TLS handshake, Client hello (1):
* TLSv1.3 (IN), TLS handshake, Server hello (2):
* TLSv1.3 (IN), TLS handshake, Certificate (11):
* TLSv1.3 (OUT), TLS alert, unknown CA (560):
* SSL certificate problem: unable to get local issuer certificate
* Closing connection
curl: (60) SSL certificate problem: unable to get local issuer certificate
More details here: https://curl.se/docs/sslcerts.html
"""

JAVA_TRACE = """\
Exception in thread "main" javax.net.ssl.SSLHandshakeException: PKIX path building failed: \
sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification \
path to requested target
\tat java.base/sun.security.ssl.Alert.createSSLException(Alert.java:131)
\tat java.base/sun.security.ssl.TransportContext.fatal(TransportContext.java:371)
Caused by: sun.security.validator.ValidatorException: PKIX path building failed
"""


def run_json(args: list[str], **kw: Any) -> tuple[int, dict[str, Any]]:
    r = runner.invoke(app, ["explain", "--json", *args], **kw)
    assert r.exit_code in (0, 1), r.output
    return r.exit_code, json.loads(r.stdout)


def test_explains_a_message_given_as_argument() -> None:
    r = runner.invoke(app, ["explain", LOCAL_ISSUER])
    assert r.exit_code == 0, r.output
    assert "Recognised" in r.stdout and "curl" in r.stdout
    assert "Likely causes, best first" in r.stdout
    assert "server.chain_incomplete" in r.stdout and "client.root_not_trusted" in r.stdout
    assert "tlsdiag check <host>" in r.stdout


def test_unquoted_words_are_joined() -> None:
    code, doc = run_json(LOCAL_ISSUER.split())
    assert code == 0 and doc["causes"][0]["code"] == "server.chain_incomplete"


def test_json_shape() -> None:
    code, doc = run_json([LOCAL_ISSUER])
    assert code == 0
    assert doc["command"] == "explain" and doc["recognised"] is True
    causes = doc["causes"]
    assert [c["score"] for c in causes] == sorted((c["score"] for c in causes), reverse=True)
    for c in causes:
        assert {"code", "score", "why", "next", "check", "title", "inspection"} <= set(c)
    assert {m["pattern"] for m in doc["matches"]} >= {
        "curl-60-generic",
        "openssl-verify-20-local-issuer",
    }
    assert all(
        {"pattern", "client", "client_name", "excerpt", "line"} <= set(m) for m in doc["matches"]
    )
    assert doc["suggestions"] == []
    assert doc["inspection"]["inspected"] is None
    assert doc["input"] == {
        "source": "argument",
        "characters": len(LOCAL_ISSUER),
        "truncated": False,
    }
    # The same causes as findings, with the shared words of findings.toml.
    assert {f["code"] for f in doc["findings"]} == {c["code"] for c in causes}


def test_reads_a_curl_transcript_from_stdin() -> None:
    code, doc = run_json(["-"], input=CURL_TRANSCRIPT)
    assert code == 0
    assert doc["input"]["source"] == "stdin"
    assert doc["host"] == "www.example.com"
    assert {c["check"] for c in doc["causes"][:2]} == {
        "tlsdiag check www.example.com",
        "tlsdiag trust --from-host www.example.com",
    }
    lines = {m["pattern"]: m["line"] for m in doc["matches"]}
    assert lines["curl-verbose-alert-out-unknown-ca"] == 7


def test_piped_stdin_without_dash_is_read_too() -> None:
    code, doc = run_json([], input=JAVA_TRACE)
    assert code == 0 and doc["matches"][0]["client"] == "java"
    assert doc["causes"][0]["code"] in {"client.store_mismatch", "server.chain_incomplete"}


def test_reads_a_log_file(tmp_path: Path) -> None:
    log = tmp_path / "build.log"
    log.write_text("step 1 ok\nstep 2 ok\n" + JAVA_TRACE, encoding="utf-8")
    code, doc = run_json(["--file", str(log)])
    assert code == 0 and doc["input"]["source"] == str(log)
    assert doc["matches"][0]["line"] == 3


def test_reads_a_utf16_file_as_powershell_writes_it(tmp_path: Path) -> None:
    log = tmp_path / "ps.txt"
    text = "Invoke-WebRequest : The request was aborted: Could not create SSL/TLS secure channel."
    log.write_bytes(text.encode("utf-16"))
    code, doc = run_json(["-F", str(log)])
    assert code == 0 and doc["causes"][0]["code"] == "legacy.protocol_version"


def test_inspection_options_change_the_ranking() -> None:
    _, inspected = run_json(["--inspected", LOCAL_ISSUER])
    _, direct = run_json(["--not-inspected", LOCAL_ISSUER])
    assert inspected["causes"][0]["code"] == "client.root_not_trusted"
    assert inspected["inspection"] == {
        "inspected": True,
        "source": "option",
        "vendors": [],
        "evidence": [],
        "proxy_seen": False,
    }
    assert direct["causes"][0]["code"] == "server.chain_incomplete"


def test_vendor_in_the_text_is_shown_on_the_console() -> None:
    text = LOCAL_ISSUER + "\n*  issuer: O=Zscaler Inc.; CN=Zscaler Intermediate Root CA"
    r = runner.invoke(app, ["explain", text])
    assert r.exit_code == 0, r.output
    assert "TLS inspection" in r.stdout and "Zscaler" in r.stdout
    first_cause = r.stdout.split("Likely causes, best first")[1]
    assert first_cause.index("client.root_not_trusted") < first_cause.index(
        "server.chain_incomplete"
    )


def test_host_option_fills_the_confirming_command() -> None:
    _, doc = run_json(["--host", "intranet.example:8443", LOCAL_ISSUER])
    assert doc["causes"][0]["check"] == "tlsdiag check intranet.example:8443"
    assert doc["target"] == "intranet.example:8443"


def test_no_tls_error_exits_1_with_empty_causes() -> None:
    code, doc = run_json(["HTTP/1.1 404 Not Found"])
    assert code == 1
    assert doc["recognised"] is False and doc["causes"] == [] and doc["findings"] == []
    r = runner.invoke(app, ["explain", "HTTP/1.1 404 Not Found"])
    assert r.exit_code == 1 and "No known TLS error recognised" in r.stdout


def test_near_miss_lists_suggestions_and_exits_1() -> None:
    code, doc = run_json(["certificate verify faild: unable to get local isuer certificate"])
    assert code == 1 and doc["causes"] == []
    assert doc["suggestions"] and "issuer" in doc["suggestions"][0]["example"]


def test_missing_file_is_one_line_exit_2(tmp_path: Path) -> None:
    r = runner.invoke(app, ["explain", "--file", str(tmp_path / "nope.log")])
    assert r.exit_code == 2
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "nope.log" in lines[0] and "no such file" in lines[0]
    assert "Traceback" not in r.output


def test_directory_as_file_is_exit_2(tmp_path: Path) -> None:
    r = runner.invoke(app, ["explain", "--file", str(tmp_path)])
    assert r.exit_code == 2 and "is a directory" in r.stderr


def test_empty_text_is_exit_2(tmp_path: Path) -> None:
    r = runner.invoke(app, ["explain", "   "])
    assert r.exit_code == 2 and "empty" in r.stderr
    r = runner.invoke(app, ["explain", "-"], input="")
    assert r.exit_code == 2 and "stdin" in r.stderr
    empty = tmp_path / "empty.log"
    empty.write_text("\n\n")
    r = runner.invoke(app, ["explain", "--file", str(empty)])
    assert r.exit_code == 2 and "empty" in r.stderr


def test_nothing_to_explain_is_exit_2() -> None:
    r = runner.invoke(app, ["explain"], input="")
    assert r.exit_code == 2


def test_text_and_file_together_is_exit_2(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text(LOCAL_ISSUER)
    r = runner.invoke(app, ["explain", "--file", str(log), LOCAL_ISSUER])
    assert r.exit_code == 2 and "not both" in r.stderr


def test_code_option_shows_the_shared_explanation() -> None:
    r = runner.invoke(app, ["explain", "--code", "server.chain_incomplete", "--host", "a.example"])
    assert r.exit_code == 0, r.output
    assert "The server does not send its intermediate certificate" in r.stdout
    assert "tlsdiag check a.example" in r.stdout
    code = runner.invoke(app, ["explain", "--json", "--code", "client.store_mismatch"])
    doc = json.loads(code.stdout)
    assert doc["explanation"]["code"] == "client.store_mismatch"
    assert doc["explanation"]["check"] == "tlsdiag trust --from-host <host>"


def test_unknown_code_is_exit_2() -> None:
    r = runner.invoke(app, ["explain", "--code", "server.nope"])
    assert r.exit_code == 2 and "server.nope" in r.stderr


def test_output_file_and_html(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    r = runner.invoke(app, ["explain", "--format", "html", "--output", str(out), LOCAL_ISSUER])
    assert r.exit_code == 0, r.output
    page = out.read_text()
    assert "server.chain_incomplete" in page and "<html>" in page
    text = tmp_path / "report.txt"
    r = runner.invoke(app, ["explain", "--output", str(text), LOCAL_ISSUER])
    assert r.exit_code == 0 and "Likely causes" in text.read_text()


def test_cli_import_does_not_load_the_knowledge_base_or_rich() -> None:
    code = (
        "import sys, tlsdiag.cli.app\n"
        "heavy = [m for m in ('tlsdiag.kb.explain', 'tlsdiag.core.explain', "
        "'tlsdiag.render.explain', 'rich', 'tomllib') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == ""


def test_end_to_end_in_a_real_process(tmp_path: Path) -> None:
    env = {"TLSDIAG_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, "-m", "tlsdiag", "explain", "--json", LOCAL_ISSUER]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    assert first.returncode == 0, first.stderr
    assert list(tmp_path.glob("explain-kb-*.json")), "the parsed knowledge base was not cached"
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    assert json.loads(second.stdout)["causes"] == json.loads(first.stdout)["causes"]


def test_revocation_behind_inspection_names_the_inspection_cause_with_issuer(
    tmp_path: Path,
) -> None:
    log = tmp_path / "git.log"
    log.write_text(
        "fatal: unable to access 'https://github.com/example/tools.git/': schannel: next "
        "InitializeSecurityContext failed: CRYPT_E_NO_REVOCATION_CHECK (0x80092012) - The "
        "revocation function was unable to check revocation for the certificate.\n",
        encoding="utf-8",
    )
    code, doc = run_json(["--file", str(log)])
    assert code == 0
    top3 = {c["code"]: c for c in doc["causes"][:3]}
    assert doc["causes"][0]["code"] == "server.revocation_unknown"
    assert top3["interception.detected"]["check"] == "tlsdiag issuer github.com"


def test_firewall_certificate_name_ranks_inspection_first(tmp_path: Path) -> None:
    log = tmp_path / "curl.txt"
    log.write_text(
        "curl: (60) SSL: certificate subject name 'FGT60FTK2109A1B2' does not match target "
        "host name 'www.example.com'\n",
        encoding="utf-8",
    )
    code, doc = run_json(["--file", str(log)])
    assert code == 0
    assert doc["causes"][0]["code"] == "interception.detected"
    assert doc["causes"][0]["check"] == "tlsdiag issuer www.example.com"


def test_plain_messages_rank_the_plain_cause_first() -> None:
    for text, code in (
        ("ERR_SSL_PROTOCOL_ERROR", "network.not_tls"),
        ("net/http: TLS handshake timeout", "network.connect_failed"),
        (
            "Acceptable client certificate CA names\nC = US, O = Example, CN = Client CA\n",
            "app.mutual_tls",
        ),
    ):
        _, doc = run_json([text])
        assert doc["causes"][0]["code"] == code, (text, doc["causes"][:3])
