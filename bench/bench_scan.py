"""`tlsdiag probe --scan` side by side with sslyze and testssl.sh on the same lab server
(run by hand; not part of the test suite).

    python -m venv /tmp/sslyze-venv && /tmp/sslyze-venv/bin/pip install sslyze   # not a project dep
    apt-get install testssl.sh                                                     # Debian package
    python bench/bench_scan.py [--runs 5] [--sslyze /tmp/sslyze-venv/bin/python] [--no-testssl]

The lab server is `openssl s_server` on 127.0.0.1 with every suite OpenSSL 3 builds, at security
level 0 and in server order, so TLS 1.0 to 1.3 and ~90 suites are on offer. The script times
the whole process of each tool (best and median of --runs; testssl.sh once, it takes minutes),
then checks that the three agree on the accepted versions and, per version, the suites. A
suite only one tool reports is listed with who saw it; the exit status is 1 on any disagreement
that no second tool confirms.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VERSIONS = ("SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")
SSLYZE_KEYS = dict(
    zip(VERSIONS, ("ssl_3_0", "tls_1_0", "tls_1_1", "tls_1_2", "tls_1_3"), strict=True)
)
TESTSSL_PROTOCOLS = dict(
    zip(("SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3"), VERSIONS, strict=True)
)
TESTSSL_CIPHER_IDS = dict(
    zip(
        ("cipher-ssl3_", "cipher-tls1_x", "cipher-tls1_1_", "cipher-tls1_2_", "cipher-tls1_3_"),
        VERSIONS,
        strict=True,
    )
)
Result = dict[str, set[str]]  # version -> suites (IANA names)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(tmp: Path) -> tuple[subprocess.Popen[bytes], int]:
    import trustme

    cert = trustme.CA().issue_cert("localhost", key_type=trustme.KeyType.RSA)
    cert.cert_chain_pems[0].write_to_path(str(tmp / "cert.pem"))
    cert.private_key_pem.write_to_path(str(tmp / "key.pem"))
    port = free_port()
    cmd = ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(tmp / "cert.pem")]
    cmd += ["-key", str(tmp / "key.pem"), "-quiet", "-www", "-serverpref"]
    cmd += ["-cipher", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"]
    print("lab server:", " ".join(cmd))
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    raise SystemExit("openssl s_server did not start")


def timed(cmd: list[str], runs: int) -> tuple[list[float], str]:
    out, text = [], ""
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        out.append(time.perf_counter() - start)
        text = done.stdout
    return out, text


def line(label: str, times: list[float], extra: str = "") -> None:
    print(
        f"{label:<10} best {min(times):6.2f} s   median {statistics.median(times):6.2f} s  {extra}"
    )


def run_tlsdiag(port: int, runs: int) -> Result:
    cmd = [sys.executable, "-m", "tlsdiag", "probe", f"127.0.0.1:{port}", "--scan", "--json"]
    print("tlsdiag:  ", " ".join(cmd[1:]))
    times, text = timed(cmd, runs)
    scan = json.loads(text)["scan"]
    line("tlsdiag", times, f"(scan itself {scan['seconds']:.2f} s, {scan['probes']} ClientHellos)")
    return {v: set(names) for v, names in scan["ciphers"].items()}


def run_sslyze(python: str, port: int, runs: int, tmp: Path) -> Result:
    out = tmp / "sslyze.json"
    cmd = [python, "-m", "sslyze", "--sslv3", "--tlsv1", "--tlsv1_1", "--tlsv1_2", "--tlsv1_3"]
    cmd += ["--elliptic_curves", f"--json_out={out}", f"127.0.0.1:{port}"]
    print("sslyze:   ", " ".join(cmd[1:]))
    times, _ = timed(cmd, runs)
    line("sslyze", times)
    result = json.loads(out.read_text())["server_scan_results"][0]["scan_result"]
    found: Result = {}
    for v, key in SSLYZE_KEYS.items():
        accepted = result[f"{key}_cipher_suites"]["result"]["accepted_cipher_suites"]
        if accepted:
            found[v] = {c["cipher_suite"]["name"] for c in accepted}
    return found


def run_testssl(port: int, tmp: Path) -> Result:
    out = tmp / "testssl.json"
    exe = shutil.which("testssl") or shutil.which("testssl.sh") or "testssl"
    cmd = [exe, "--jsonfile", str(out), "-p", "-E", "--warnings", "off", "--quiet", "--color", "0"]
    cmd.append(f"127.0.0.1:{port}")
    print("testssl:  ", " ".join(cmd))
    times, _ = timed(cmd, 1)
    line("testssl", times)
    found: Result = {}
    entries = json.loads(out.read_text())
    offered = {
        TESTSSL_PROTOCOLS[e["id"]]
        for e in entries
        if e["id"] in TESTSSL_PROTOCOLS and e["finding"].startswith("offered")
    }
    for e in entries:
        for prefix, v in sorted(TESTSSL_CIPHER_IDS.items(), key=lambda kv: -len(kv[0])):
            if e["id"].startswith(prefix):
                found.setdefault(v, set()).add(e["finding"].split()[-1])
                break
    return {v: s for v, s in found.items() if v in offered}


def compare(results: dict[str, Result]) -> bool:
    ok = True
    tools = list(results)
    versions = {tool: sorted(r) for tool, r in results.items()}
    print("\naccepted versions:")
    for tool in tools:
        print(f"  {tool:<8} {', '.join(versions[tool])}")
    if len({tuple(v) for v in versions.values()}) != 1:
        ok = False
        print("  DISAGREE on versions")
    print("\nsuites per version (count per tool; suites not seen by every tool listed):")
    for v in VERSIONS:
        sets = {tool: results[tool].get(v, set()) for tool in tools}
        if not any(sets.values()):
            continue
        counts = "  ".join(f"{t} {len(s)}" for t, s in sets.items())
        print(f"  {v:<8} {counts}")
        union = set().union(*sets.values())
        for name in sorted(union):
            seen = [t for t, s in sets.items() if name in s]
            if len(seen) != len(tools):
                confirmed = len(seen) >= 2
                ok = ok and confirmed
                print(
                    f"    {name}: only {', '.join(seen)}{'' if confirmed else '  <- unconfirmed'}"
                )
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sslyze", default="/tmp/sslyze-venv/bin/python", help="a Python with sslyze")
    ap.add_argument("--no-testssl", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        proc, port = start_server(tmp)
        try:
            results = {"tlsdiag": run_tlsdiag(port, args.runs)}
            if Path(args.sslyze).exists():
                results["sslyze"] = run_sslyze(args.sslyze, port, args.runs, tmp)
            else:
                print(f"sslyze: not found at {args.sslyze} (skipped)")
            if not args.no_testssl and (shutil.which("testssl") or shutil.which("testssl.sh")):
                results["testssl"] = run_testssl(port, tmp)
        finally:
            proc.terminate()
            proc.wait(timeout=5)
            if proc.stdin:
                proc.stdin.close()
    agree = compare(results)
    print("\nagreement:", "yes" if agree else "NO")
    raise SystemExit(0 if agree else 1)


if __name__ == "__main__":
    main()
