"""Benchmark of ``tlsdiag fleet report``: 10,000 machines' results, time and peak memory.

Run by hand (not part of the test suite)::

    python bench/bench_fleet.py                   # 10,000 machines, JSON output
    python bench/bench_fleet.py --machines 1000 --format html

Writes one folder per machine, as the Ansible playbook fetches them (``trust.json``: one
inspection root audited in 16 stores with their consumers, notes and sources; ``check.json``:
three targets with endpoint, DNS, handshake, a three-certificate chain and findings), with
realistic variety: 12% of machines lack the root in certifi, 5% in Java, 3% in Firefox, 2% have
a wrong clock, 1% run an older tlsdiag without a machine block, 0.5% report twice (an older
run), 0.2% of files are truncated. Then runs ``tlsdiag fleet report`` once as a process (on CPU
0 when ``taskset`` exists) and prints its wall time and peak RSS (``ru_maxrss`` of the child).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

STORES = (
    ("os-debian", "os", ["curl", "git", "wget", "Python ssl", "Go programs", "apt"]),
    ("openssl", "library", ["Python ssl / urllib", "Ruby", "PHP"]),
    ("certifi", "library", ["requests", "httpx", "pip < 24.2"]),
    ("python-requests", "library", ["requests", "Poetry"]),
    ("pip", "tool", ["pip"]),
    ("curl", "tool", ["curl", "libcurl apps"]),
    ("git", "tool", ["git", "GitHub Desktop"]),
    ("go", "runtime", ["docker CLI", "kubectl", "terraform"]),
    ("node", "runtime", ["node", "npm", "yarn"]),
    ("npm", "tool", ["npm", "pnpm", "npx"]),
    ("java", "runtime", ["java", "Maven", "Gradle"]),
    ("firefox", "browser", ["Firefox", "Thunderbird"]),
    ("chrome-nss", "browser", ["Chrome", "Chromium"]),
    ("aws-cli", "tool", ["aws", "boto3"]),
    ("gcloud", "tool", ["gcloud", "gsutil"]),
    ("docker", "container", ["docker pull/push", "containerd"]),
)
LACK = {"certifi": 0.12, "java": 0.05, "firefox": 0.03, "chrome-nss": 0.02, "node": 0.02}
TARGETS = ("pypi.org:443", "github.com:443", "intranet.corp.example:443")
OSES = (
    ("linux", "Ubuntu 24.04 LTS", "24.04"),
    ("macos", "macOS 14.5", "14.5"),
    ("windows", "Windows 11", "10.0.22631"),
)


def _store(sid: str, kind: str, consumers: list[str], status: str) -> dict[str, Any]:
    return {
        "id": sid,
        "name": f"{sid} trust store",
        "kind": kind,
        "instance": None,
        "present": status != "absent",
        "trusts_root": {"trusted": True, "absent": None}.get(status, False),
        "status": status,
        "location": f"/usr/lib/{sid}/cacert.pem",
        "overridden_by": [],
        "fix": None if status == "trusted" else f"import the root into {sid}",
        "detail": "holds the root" if status == "trusted" else "does not hold the root",
        "consumers": consumers,
        "notes": [f"{sid} reads its own bundle; see the vendor documentation for details"],
        "sources": [f"https://docs.example/{sid}/trust", f"https://docs.example/{sid}/proxy"],
    }


def _machine(i: int, when: str, os_: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "id": f"{i:032x}",
        "id_source": "machine-id",
        "hostname": f"ws-{i:05d}",
        "os": os_[0],
        "os_name": os_[1],
        "os_version": os_[2],
        "arch": "x86_64",
        "user": f"user{i % 997}",
        "tool_version": "0.1.0",
        "python_version": "3.11.7",
        "time": when,
        "time_zone": "CET",
        "utc_offset": "+01:00",
    }


def _envelope(command: str, target: str, when: str) -> dict[str, Any]:
    return {
        "schema": "tlsdiag.report",
        "schema_version": 1,
        "tool_version": "0.1.0",
        "command": command,
        "target": target,
        "generated_at": when,
    }


def _trust(rng: random.Random, machine: dict[str, Any] | None, when: str) -> dict[str, Any]:
    stores = []
    for sid, kind, consumers in STORES:
        if rng.random() < 0.15:
            status = "absent"
        elif rng.random() < LACK.get(sid, 0.003):
            status = "missing"
        else:
            status = "trusted"
        stores.append(_store(sid, kind, consumers, status))
    skew = rng.choice((-7260.0, 5400.0, 900.0)) if rng.random() < 0.02 else rng.uniform(-2, 2)
    doc = _envelope("trust", "Corp Inspection Root", when) | {
        "root": {
            "subject": "O=Corp, CN=Corp Inspection Root",
            "common_name": "Corp Inspection Root",
            "sha256": "f2" * 32,
            "spki_sha256": "50" * 32,
            "origin": "os: /etc/ssl/certs/ca-certificates.crt",
            "not_before": "2024-11-05T18:44:29Z",
            "not_after": "2034-11-03T18:44:29Z",
            "days_left": 2891,
            "key": "RSA 4096",
            "signature_hash": "sha256",
        },
        "selection": {"mode": "ca", "value": "/etc/pki/corp-root.pem"},
        "platform": "linux",
        "clock": {"host": "intranet.corp.example", "local_utc": when, "skew_seconds": skew},
        "inspected": None,
        "stores": stores,
        "findings": [
            {"code": "client.store_mismatch", "severity": "error", "title": "x", "evidence": {}}
            for s in stores
            if s["status"] == "missing"
        ],
    }
    if machine is not None:
        doc["machine"] = machine
    return doc


def _check(
    rng: random.Random, target: str, machine: dict[str, Any] | None, when: str
) -> dict[str, Any]:
    host = target.rsplit(":", 1)[0]
    fail = rng.random() < (0.1 if host == "pypi.org" else 0.02)
    code = "client.root_not_trusted" if host == "pypi.org" else "server.cert_expired"
    chain = [
        {
            "position": n,
            "subject": f"CN={name}",
            "issuer": "CN=Corp Inspection Root",
            "serial": "0a1b2c3d4e5f",
            "not_before": "2026-01-01T00:00:00Z",
            "not_after": "2027-01-01T00:00:00Z",
            "key": "EC P-256",
            "signature": "ecdsa-with-SHA256",
            "sha256": f"{n:02x}" * 32,
            "san_dns": [host],
            "san_ip": [],
            "is_ca": n > 0,
            "self_issued": n == 2,
            "aia_ca_issuers": ["http://pki.corp.example/ca.crt"],
            "aia_ocsp": ["http://ocsp.corp.example"],
            "crl_urls": [],
            "sct_count": 0,
        }
        for n, name in enumerate((host, "Corp Issuing CA", "Corp Inspection Root"))
    ]
    return (
        _envelope("check", target, when)
        | ({"machine": machine} if machine else {})
        | {
            "endpoint": {"input": target, "host": host, "port": 443, "sni": host},
            "dns": {"name": host, "addresses": ["10.1.2.3"], "source": "system resolver"},
            "connect": [{"address": "10.1.2.3", "outcome": "ok", "ms": 3.1}],
            "handshake": {"version": "TLSv1.3", "cipher": "TLS_AES_128_GCM_SHA256"},
            "chain": chain,
            "interception": {"inspected": True, "vendor": "Example Proxy", "root": "Corp"},
            "timings_ms": {"dns": 1.2, "connect": 3.1, "handshake": 12.5},
            "findings": [{"code": code, "severity": "error", "title": code}] if fail else [],
        }
    )


def generate(folder: Path, machines: int, seed: int = 16) -> int:
    """Write the machines' results; returns the number of bytes written."""
    rng = random.Random(seed)
    total = 0
    for i in range(machines):
        when = f"2026-11-{20 + i % 5:02d}T{8 + i % 10:02d}:00:00Z"
        os_ = OSES[i % len(OSES)]
        machine = _machine(i, when, os_)
        old_version = rng.random() < 0.01
        host_dir = folder / f"ws-{i:05d}"
        host_dir.mkdir()
        trust = _trust(rng, None if old_version else machine, when)
        checks = [_check(rng, t, None if old_version else machine, when) for t in TARGETS]
        for name, value in (("trust.json", [trust]), ("check.json", checks)):
            text = json.dumps(value, indent=2)
            if rng.random() < 0.002:
                text = text[: len(text) // 3]
            (host_dir / name).write_text(text)
            total += len(text)
        if rng.random() < 0.005:
            older_time = "2026-11-01T00:00:00Z"
            older = _trust(rng, machine | {"time": older_time}, older_time)
            text = json.dumps([older])
            (host_dir / "trust-old.json").write_text(text)
            total += len(text)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--machines", type=int, default=10_000)
    parser.add_argument("--format", default="json", choices=("console", "json", "csv", "html"))
    parser.add_argument("--keep", action="store_true", help="keep the generated folder")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="tlsdiag-fleet-bench-"))
    try:
        start = time.perf_counter()
        size = generate(folder, args.machines)
        print(
            f"generated {args.machines} machines, {size / 1e6:.0f} MB of JSON in "
            f"{time.perf_counter() - start:.1f} s: {folder}"
        )
        out = folder.parent / f"{folder.name}.{args.format}"
        cmd = [sys.executable, "-m", "tlsdiag", "fleet", "report", str(folder)]
        cmd += ["--format", args.format, "--output", str(out)]
        if shutil.which("taskset"):
            cmd = ["taskset", "-c", "0", *cmd]
        start = time.perf_counter()
        run = subprocess.run(cmd, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        if run.returncode not in (0, 1):
            sys.exit(f"fleet report failed ({run.returncode}): {run.stderr}")
        print(f"fleet report --format {args.format}: {seconds:.2f} s, peak RSS {peak_mib:.0f} MiB")
        print(f"output {out.stat().st_size / 1e6:.1f} MB: {out}")
        if not args.keep:
            out.unlink()
    finally:
        if not args.keep:
            shutil.rmtree(folder)


if __name__ == "__main__":
    main()
