"""``check`` against a local server whose certificate repeats an extension: a finding about
that certificate (exit 1), not "failed unexpectedly" (issue 11 §3)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tlsdiag.cli.app import app

from helpers import certkit as K
from helpers.issuer_lab import tls_server

pytestmark = pytest.mark.integration
runner = CliRunner()


@pytest.mark.parametrize("oid", ["2.5.29.14", "2.5.29.15"], ids=["ski", "key-usage"])
def test_check_reports_a_duplicated_extension(tmp_path: Path, oid: str) -> None:
    # OpenSSL will not serve a leaf with a duplicated extension; it sends such an intermediate
    now = datetime.now(UTC)
    root = K.cert("Dup Check Root", now=now)
    inter = K.cert("Dup Check Inter", now=now, issuer=root)
    dup = K.resign(inter.cert, root.key, K.duplicate_extension(oid))
    leaf = K.cert("dup.test", now=now, issuer=inter, ca=False, names=["dup.test"])
    ca = str(K.write(tmp_path / "root.pem", root.cert))
    with tls_server([leaf.cert, dup], leaf.key) as port:
        args = [f"dup.test:{port}", "--resolve", f"dup.test:{port}:127.0.0.1", "--cafile", ca]
        r = runner.invoke(app, ["check", "--format", "json", "--no-http", *args])
    assert r.exit_code == 1, r.output
    report = json.loads(r.stdout)
    codes = {f["code"] for f in report["findings"]}
    assert "server.cert_malformed" in codes, codes
