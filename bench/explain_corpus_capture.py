"""Capture real client error messages for the explain corpus (run by hand, not in the test suite).

Builds throw-away test CAs, starts one local server per scenario on 127.0.0.1 (``openssl s_server``,
a plain HTTP server, or a socket that closes or resets after the ClientHello) and runs each client
against it: openssl s_client, curl, CPython urllib, httpx, Node.js, Java (HttpsURLConnection),
git and wget. The outputs are written as ``[[message]]`` TOML entries with the scenario's
labels, ready to be reviewed and appended to fixtures/explain/corpus.toml.

Usage:  python bench/explain_corpus_capture.py OUT.toml  [--corpus fixtures/explain/corpus.toml]
Needs:  openssl, curl, node, java + javac, git, wget on PATH; the venv (cryptography, httpx).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path

from corpus_pki import build_pki, run_quiet

PORT = 4433
URL = f"https://localhost:{PORT}/"

G3 = ["server.chain_incomplete", "client.root_not_trusted", "client.store_mismatch"]
SSCHAIN = ["client.root_not_trusted", "server.untrusted_root", "client.store_mismatch"]
HANDSHAKE = ["legacy.cipher_suite", "legacy.protocol_version", "app.mutual_tls"]
DATES = ["server.cert_expired", "server.cert_not_yet_valid", "client.clock_skew"]

# scenario -> (server kind, server args, client options, labels, description)
Scenario = tuple[str | None, list[str], dict[str, object], list[str], str]


def _chain(name: str) -> list[str]:
    return ["-cert", f"{name}.pem", "-key", f"{name}.key", "-cert_chain", f"{name}.chain.pem"]


SCENARIOS: dict[str, Scenario] = {
    "chain_incomplete": (
        "s_server",
        ["-cert", "leafonly.pem", "-key", "leafonly.key"],
        {},
        G3,
        "server sends only its leaf (issuing CA missing), client trusts the root",
    ),
    "untrusted_private_root": (
        "s_server",
        _chain("good"),
        {"trust": False},
        G3,
        "server sends a full chain ending at a private root the client does not trust",
    ),
    "self_signed": (
        "s_server",
        ["-cert", "selfsigned.pem", "-key", "selfsigned.key"],
        {},
        ["server.self_signed"],
        "self-signed leaf",
    ),
    "expired": (
        "s_server",
        _chain("expired"),
        {},
        ["server.cert_expired", "client.clock_skew"],
        "leaf expired 10 days ago",
    ),
    "not_yet_valid": (
        "s_server",
        _chain("notyet"),
        {},
        ["server.cert_not_yet_valid", "client.clock_skew"],
        "leaf valid from 20 days in the future",
    ),
    "hostname": (
        "s_server",
        _chain("mismatch"),
        {},
        ["server.hostname_mismatch"],
        "leaf for other.example.net",
    ),
    "zscaler": (
        "s_server",
        _chain("zscaler"),
        {},
        SSCHAIN,
        "chain leaf <- 'Zscaler Intermediate Root CA' <- 'Zscaler Root CA' (test CA named like "
        "the inspection CA), root not trusted",
    ),
    "weak_key": (
        "s_server",
        [*_chain("weakkey"), "-cipher", "DEFAULT@SECLEVEL=0"],
        {},
        ["server.weak_key"],
        "1024-bit RSA leaf",
    ),
    "sha1": (
        "s_server",
        [
            *["-cert", "sha1leaf.pem", "-key", "sha1.key", "-cert_chain", "inter.pem"],
            *["-cipher", "DEFAULT@SECLEVEL=0"],
        ],
        {},
        ["server.weak_signature"],
        "leaf signed with SHA-1",
    ),
    "client_cert_required": (
        "s_server",
        [*_chain("good"), "-Verify", "1", "-CAfile", "root.pem"],
        {},
        ["app.mutual_tls"],
        "server requires a client certificate (TLS 1.3)",
    ),
    "tls13_only": (
        "s_server",
        [*_chain("good"), "-tls1_3"],
        {"extra_curl": ["--tls-max", "1.2"], "extra_sclient": ["-tls1_2"]},
        ["legacy.protocol_version"],
        "server TLS 1.3 only, client capped at TLS 1.2",
    ),
    "no_shared_cipher": (
        "s_server",
        [*_chain("good"), "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"],
        {"extra_curl": ["--tls-max", "1.2"], "extra_sclient": ["-tls1_2"]},
        HANDSHAKE,
        "server offers only a cipher unusable with its RSA key",
    ),
    "dh_small": (
        "s_server",
        [
            *_chain("good"),
            *["-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0"],
            *["-dhparam", "dh1024.pem"],
        ],
        {"extra_curl": ["--tls-max", "1.2"], "extra_sclient": ["-tls1_2"]},
        ["legacy.cipher_suite", "server.weak_key"],
        "server DHE with a 1024-bit group",
    ),
    "tls10_only": (
        "s_server",
        [*_chain("good"), "-tls1", "-cipher", "DEFAULT@SECLEVEL=0"],
        {},
        ["legacy.protocol_version"],
        "server TLS 1.0 only",
    ),
    "plain_http": ("http", [], {}, ["network.not_tls"], "plain HTTP server on the TLS port"),
    "refused": (None, [], {}, ["network.connect_failed"], "closed port"),
    "closed": (
        "close",
        [],
        {},
        ["network.reset"],
        "server closes the TCP connection after the ClientHello",
    ),
    "reset": ("reset", [], {}, ["network.reset"], "server resets (RST) after the ClientHello"),
}

# Where the client's text does not carry the scenario's meaning (None = leave the pair out).
OVERRIDE: dict[tuple[str, str], list[str] | None] = {
    ("self_signed", "java"): ["client.store_mismatch", "client.root_not_trusted", G3[0]],
    ("zscaler", "s_client"): ["client.root_not_trusted", "client.store_mismatch"],
    ("expired", "java"): DATES,
    ("client_cert_required", "git"): ["app.mutual_tls", *HANDSHAKE[1::-1]],
    ("tls10_only", "s_client"): ["legacy.protocol_version", "legacy.cipher_suite"],
    ("tls10_only", "curl"): ["legacy.protocol_version", "legacy.cipher_suite"],
    ("chain_incomplete", "git"): ["client.root_not_trusted", "client.store_mismatch", G3[0]],
    ("untrusted_private_root", "git"): ["client.root_not_trusted", "client.store_mismatch", G3[0]],
    ("zscaler", "java"): None,
    ("zscaler", "wget"): None,
    ("self_signed", "git"): None,
    ("self_signed", "wget"): None,
    ("expired", "git"): None,
    ("not_yet_valid", "java"): None,
    ("untrusted_private_root", "wget"): None,
    ("client_cert_required", "s_client"): None,
}
CLIENT_NAME = {
    "s_client": "openssl",
    "curl": "curl",
    "python": "python",
    "httpx": "httpx",
    "node": "node",
    "java": "java",
    "git": "git",
    "wget": "generic",
}

NODE_GET = """const https = require('https'); const fs = require('fs');
const opts = process.argv[3] ? { ca: fs.readFileSync(process.argv[3]) } : {};
https.get(process.argv[2], opts, (res) => { console.log('OK', res.statusCode); res.resume(); });
"""
JAVA_GET = """import java.io.InputStream;
import java.net.URL;
import javax.net.ssl.HttpsURLConnection;
public class Get {
    public static void main(String[] args) throws Exception {
        HttpsURLConnection c = (HttpsURLConnection) new URL(args[0]).openConnection();
        c.setConnectTimeout(5000);
        try (InputStream in = c.getInputStream()) { in.readAllBytes(); }
        System.out.println("OK " + c.getResponseCode());
    }
}
"""


# --- throw-away PKI -------------------------------------------------------------------------


def build_clients(work: Path) -> None:
    """The Node.js and Java clients (Java compiled once)."""
    (work / "get.js").write_text(NODE_GET)
    (work / "Get.java").write_text(JAVA_GET)
    run_quiet(["javac", "Get.java"], work)


def wait_port(port: int, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


CLOSER = """
import socket, struct, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(50)
while True:
    c, _ = s.accept()
    try:
        c.recv(4096)
    except OSError:
        pass
    if sys.argv[2] == 'reset':
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    c.close()
"""


def start_server(kind: str | None, args: list[str], work: Path) -> subprocess.Popen[bytes] | None:
    if kind is None:
        return None
    if kind == "s_server":
        cmd = ["openssl", "s_server", "-accept", str(PORT), "-www", "-quiet", *args]
    elif kind == "http":
        cmd = [sys.executable, "-m", "http.server", str(PORT), "--bind", "127.0.0.1"]
    else:
        cmd = [sys.executable, "-c", CLOSER, str(PORT), kind]
    proc = subprocess.Popen(
        cmd, cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    if not wait_port(PORT):
        raise RuntimeError(f"server did not start: {cmd}")
    return proc


def run(cmd: Sequence[str], work: Path, env: dict[str, str] | None = None) -> tuple[str, int]:
    full_env = {**os.environ, **(env or {})}
    try:
        done = subprocess.run(
            cmd,
            cwd=work,
            capture_output=True,
            text=True,
            timeout=20,
            env=full_env,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return "TIMEOUT", -1
    return (done.stdout + done.stderr).strip(), done.returncode


def run_clients(work: Path, opts: dict[str, object]) -> dict[str, tuple[str, int]]:
    trust = bool(opts.get("trust", True))
    extra_curl = [str(x) for x in opts.get("extra_curl", [])]  # type: ignore[attr-defined]
    extra_sclient = [str(x) for x in opts.get("extra_sclient", [])]  # type: ignore[attr-defined]
    py_ca = "cafile='root.pem'" if trust else ""
    hx_ca = "'root.pem'" if trust else "True"
    java_trust = (
        ["-Djavax.net.ssl.trustStore=trust.p12", "-Djavax.net.ssl.trustStorePassword=changeit"]
        if trust
        else []
    )
    return {
        "s_client": run(
            ["openssl", "s_client", "-connect", f"localhost:{PORT}", "-servername", "localhost"]
            + ["-verify_hostname", "localhost"]
            + (["-CAfile", "root.pem"] if trust else [])
            + extra_sclient,
            work,
        ),
        "curl": run(
            ["curl", "-sS", "-o", "/dev/null"]
            + (["--cacert", "root.pem"] if trust else [])
            + [*extra_curl, URL],
            work,
        ),
        "python": run(
            [
                sys.executable,
                "-c",
                "import ssl, urllib.request\n"
                f"ctx = ssl.create_default_context({py_ca})\n"
                f"urllib.request.urlopen('{URL}', context=ctx, timeout=5)",
            ],
            work,
        ),
        "httpx": run(
            [sys.executable, "-c", f"import httpx\nhttpx.get('{URL}', verify={hx_ca}, timeout=5)"],
            work,
        ),
        "node": run(["node", "get.js", URL] + (["root.pem"] if trust else []), work),
        "java": run(["java", *java_trust, "-cp", ".", "Get", URL], work),
        "git": run(
            ["git", "ls-remote", f"https://localhost:{PORT}/team/repo.git"],
            work,
            {"GIT_SSL_CAINFO": "root.pem"} if trust else {"GIT_TERMINAL_PROMPT": "0"},
        ),
        "wget": run(
            ["wget", "-O", "/dev/null"] + (["--ca-certificate=root.pem"] if trust else []) + [URL],
            work,
        ),
    }


# --- formatting as corpus entries ---------------------------------------------------------------

STDERR_LINE = re.compile(
    r"^(depth=|verify error:|verify return:|notAfter=|notBefore=|[0-9A-F]{12,}:error:"
    r"|write:errno|connect:errno)"
)


def fmt_sclient(out: str) -> str:
    lines = out.splitlines()
    err = [line for line in lines if STDERR_LINE.match(line)]
    body: list[str] = []
    in_pem = False
    for line in (line for line in lines if not STDERR_LINE.match(line)):
        if line.startswith("-----BEGIN"):
            in_pem = True
        elif line.startswith("-----END"):
            in_pem = False
        elif not in_pem and line != "Server certificate":
            if line.startswith("SSL-Session:"):
                break
            body.append(line)
            if line.strip().startswith("Verify return code"):
                break
    if body and body[0].startswith("CONNECTED"):
        return "\n".join([body[0], *err, *body[1:]]).rstrip()
    return "\n".join([*err, *body]).rstrip()


def fmt_httpx(out: str) -> str:
    lines = out.splitlines()
    cause = [i for i, line in enumerate(lines) if line.startswith("The above exception")]
    return "\n".join(lines[cause[-1] :] if cause else lines).strip()


def fmt_node(out: str) -> str:
    lines = out.splitlines()
    cert = [i for i, line in enumerate(lines) if line.startswith("  cert:")]
    if not cert:
        return out.strip()
    keep = [x for x in lines[cert[0] :] if x.startswith(("  code:", "  reason:", "  host:"))]
    version = [x for x in lines if x.startswith("Node.js v")]
    return "\n".join([*lines[: cert[0]], *keep, "}", "", *version]).strip()


def fmt_java(out: str) -> str:
    lines = out.splitlines()
    kept = lines[:5]
    for i, line in enumerate(lines):
        if line.startswith("Caused by:"):
            kept += ["\t...", line, *lines[i + 1 : i + 2]]
    return "\n".join(kept).strip()


FORMAT: dict[str, Callable[[str], str]] = {
    "s_client": fmt_sclient,
    "httpx": fmt_httpx,
    "node": fmt_node,
    "java": fmt_java,
}
ORIGIN = {
    "s_client": "openssl apps/s_client.c; crypto/x509/x509_txt.c, ssl/ssl_err.c",
    "curl": "curl lib/vtls/openssl.c, lib/strerror.c",
    "python": "CPython Modules/_ssl.c + Lib/urllib/request.py",
    "httpx": "httpx httpx/_transports/default.py (map_httpcore_exceptions)",
    "node": "Node.js lib/_tls_wrap.js / src/crypto/crypto_common.cc error codes",
    "java": "OpenJDK sun.security.ssl / sun.security.validator",
    "git": "git http.c (libcurl-gnutls)",
    "wget": "GNU Wget src/gnutls.c",
}


def to_toml(entries: list[dict[str, object]]) -> str:
    blocks = []
    for entry in entries:
        text = str(entry["text"])
        if "'''" in text:
            continue
        blocks.append(
            f'[[message]]\nid = "{entry["id"]}"\nclient = "{entry["client"]}"\n'
            f"text = '''{text}'''\naccept = {json.dumps(entry['accept'])}\n"
            f'source = "{str(entry["source"]).replace(chr(34), chr(39))}"\n'
        )
    return "\n".join(blocks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--corpus", type=Path, default=Path("fixtures/explain/corpus.toml"))
    ns = parser.parse_args()
    seen: set[str] = set()
    if ns.corpus.exists():
        seen = {m["text"].strip() for m in tomllib.loads(ns.corpus.read_text())["message"]}
    today = dt.date.today().isoformat()
    entries: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        build_pki(work)
        build_clients(work)
        for scenario, (kind, args, opts, labels, desc) in SCENARIOS.items():
            proc = start_server(kind, args, work)
            try:
                outputs = run_clients(work, opts)
            finally:
                if proc:
                    proc.kill()
                    proc.wait()
                time.sleep(0.2)
            for client, (out, code) in outputs.items():
                override = OVERRIDE.get((scenario, client), labels)
                if code == 0 or out == "TIMEOUT" or override is None:
                    continue
                if "is this a git repository" in out:
                    continue
                text = FORMAT.get(client, str.strip)(out)
                if not text or text.strip() in seen:
                    continue
                seen.add(text.strip())
                prefix = {"s_client": "sclient-", "wget": "wget-"}.get(client, "")
                entries.append(
                    {
                        "id": f"{CLIENT_NAME[client]}-{prefix}lab-{scenario.replace('_', '-')}-1",
                        "client": CLIENT_NAME[client],
                        "text": text,
                        "accept": override,
                        "source": f"captured on {today} against a local test server ({desc}); "
                        + ORIGIN[client],
                    }
                )
            print(f"{scenario}: done", file=sys.stderr)
    ns.out.write_text(to_toml(entries))
    print(f"{len(entries)} entries written to {ns.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
