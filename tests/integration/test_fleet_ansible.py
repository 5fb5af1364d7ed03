"""The Ansible playbook in deploy/ansible, run for real against this machine (two inventory
hosts, ansible_connection=local, different machine ids), checking two lab servers on 127.0.0.1.

The targets get tlsdiag as a wheel built here from the checkout with the standard library (no
build backend, no index: the suite runs offline) and install it with ``--no-deps --no-index``;
the venv finds the dependencies in this test environment's site-packages through the playbook's
``tlsdiag_extra_paths`` (the documented offline option).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tlsdiag import __version__
from tlsdiag.lab.cases import Lab

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "deploy" / "ansible" / "fleet.yml"
pytestmark = pytest.mark.integration


def build_wheel(out: Path) -> Path:
    """A minimal, valid wheel of the checkout's tlsdiag package (pure Python)."""
    name = f"tlsdiag-{__version__}"
    wheel = out / f"{name}-py3-none-any.whl"
    records: list[str] = []

    def add(zf: zipfile.ZipFile, arc: str, data: bytes) -> None:
        zf.writestr(arc, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        records.append(f"{arc},sha256={digest},{len(data)}")

    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted((ROOT / "tlsdiag").rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                add(zf, path.relative_to(ROOT).as_posix(), path.read_bytes())
        info = f"{name}.dist-info"
        add(
            zf,
            f"{info}/METADATA",
            f"Metadata-Version: 2.1\nName: tlsdiag\nVersion: {__version__}\n".encode(),
        )
        add(
            zf,
            f"{info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        add(zf, f"{info}/entry_points.txt", b"[console_scripts]\ntlsdiag = tlsdiag.cli.app:main\n")
        records.append(f"{info}/RECORD,,")
        zf.writestr(f"{info}/RECORD", "\n".join(records) + "\n")
    return wheel


def test_playbook_installs_runs_fetches_and_reports(tmp_path: Path) -> None:
    playbook_cmd = shutil.which("ansible-playbook") or str(
        Path(sys.executable).parent / "ansible-playbook"
    )
    if not Path(playbook_cmd).exists():
        pytest.skip("ansible-playbook not installed (pip install ansible-core)")
    wheel = build_wheel(tmp_path)
    collect = tmp_path / "collected"
    report_dir = tmp_path / "report"
    with Lab(names=("good", "expired")) as lab:
        good, expired = lab.cases["good"], lab.cases["expired"]
        inventory = tmp_path / "inventory.ini"
        inventory.write_text(
            "[fleet]\n"
            f"alpha tlsdiag_machine_id=machine-alpha tlsdiag_home={tmp_path / 'alpha'}\n"
            f"beta tlsdiag_machine_id=machine-beta tlsdiag_home={tmp_path / 'beta'}\n"
            "[fleet:vars]\n"
            "ansible_connection=local\n"
            f"ansible_python_interpreter={sys.executable}\n"
        )
        extra = {
            "tlsdiag_hosts": "fleet",
            "tlsdiag_python": sys.executable,
            "tlsdiag_package": str(wheel),
            "tlsdiag_pip_args": "--no-deps --no-index",
            "tlsdiag_extra_paths": [sysconfig.get_paths()["purelib"]],
            "tlsdiag_targets": [good.target, expired.target],
            "tlsdiag_trust_args": f"--ca {lab.root_pem_path}",
            "tlsdiag_check_args": (
                f"--resolve {good.resolve} --resolve {expired.resolve} "
                f"--cafile {lab.root_pem_path} --no-revocation"
            ),
            "tlsdiag_collect_dir": str(collect),
            "tlsdiag_report_dir": str(report_dir),
            "tlsdiag_controller": str(Path(sys.executable).parent / "tlsdiag"),
        }
        env = {
            **os.environ,
            "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-local"),
            "ANSIBLE_REMOTE_TEMP": str(tmp_path / "ansible-remote"),
            "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "PIP_NO_INDEX": "1",
        }
        run = subprocess.run(
            [playbook_cmd, "-i", str(inventory), str(PLAYBOOK), "-e", json.dumps(extra)],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]

    # the fetched files: one folder per inventory host, each with its own machine id
    for host in ("alpha", "beta"):
        trust = json.loads((collect / host / "trust.json").read_text())
        check = json.loads((collect / host / "check.json").read_text())
        assert trust["command"] == "trust" and trust["machine"]["id"] == f"machine-{host}"
        assert trust["machine"]["id_source"] == "env"
        assert [c["target"] for c in check] == [good.target, expired.target]
        assert all(c["machine"]["id"] == f"machine-{host}" for c in check)
    # tlsdiag ran from the playbook's venv, not from this environment
    assert (tmp_path / "alpha" / "venv" / "bin" / "tlsdiag").exists()

    report = json.loads((report_dir / "fleet-report.json").read_text())
    assert report["command"] == "fleet" and report["machine_count"] == 2
    assert sorted(m["id"] for m in report["machines"]) == ["machine-alpha", "machine-beta"]
    assert report["inputs"]["problems"] == {}
    root = report["roots"][0]
    assert root["common_name"] == "Lab Test Root CA" and root["machines"] == 2
    # the lab root is in no store of this machine: every present store lacks it on both
    assert root["machines_all_trust"] == 0
    assert all(s["lacking"] + s["unknown"] + s["trusted"] == s["present"] for s in root["stores"])
    assert [t["target"] for t in report["failing_targets"]] == [expired.target]
    assert report["failing_targets"][0]["failing"] == 2
    assert report["failing_targets"][0]["side"] == "server"
    rows = list(csv.DictReader(io.StringIO((report_dir / "fleet-report.csv").read_text())))
    assert {r["machine_id"] for r in rows} == {"machine-alpha", "machine-beta"}
    assert "<table" in (report_dir / "fleet-report.html").read_text()
