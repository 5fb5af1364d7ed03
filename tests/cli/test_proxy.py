"""``tlsdiag proxy``: usage errors, the events table, and a real run stopped with Ctrl-C."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tlsdiag.cli.app import app
from tlsdiag.proxy.events import EventLog, ProxyEvent

from helpers.relay_rig import spawn_proxy

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "home"
    monkeypatch.setenv("TLSDIAG_HOME", str(d))
    return d


def _write_events(path: Path) -> None:
    log = EventLog(path)
    log.write(
        ProxyEvent(
            time="2026-11-21T10:00:00.000Z",
            client="127.0.0.1:5000",
            host="good.test",
            sni="good.test",
            port=443,
            rule="default",
            action="inspect",
            tls_inspection=1,
            upstream_version="TLSv1.3",
            verification="ok",
            bytes_up=100,
            bytes_down=2000,
        )
    )
    log.write(
        ProxyEvent(
            time="2026-11-21T10:00:01.000Z",
            host="expired.test",
            sni="expired.test",
            port=443,
            rule="default",
            action="block",
            tls_inspection=1,
            finding="server.cert_expired",
            tls_error_description="certificate expired",
            tls_certificate_error="certificate has expired",
            tls_error_type="fatal",
            detail="the certificate of expired.test failed verification",
        )
    )
    log.write(
        ProxyEvent(
            time="2026-11-21T10:00:02.000Z",
            host="api.push.apple.com",
            port=443,
            rule="default-bypass:apple-push",
            action="bypass",
            finding="platform.default_bypass",
        )
    )
    log.close()


def test_events_table_filters_and_json(tmp_path: Path) -> None:
    path = tmp_path / "ev.jsonl"
    _write_events(path)
    r = runner.invoke(app, ["proxy", "events", str(path)])
    assert r.exit_code == 1, r.output  # one error-level finding (the expired certificate)
    assert "expired.test" in r.stdout and "certificate has expired" in r.stdout
    assert "3 shown of 3" in r.stdout

    r = runner.invoke(app, ["proxy", "events", str(path), "--errors", "--json"])
    data = json.loads(r.stdout)
    assert [e["host"] for e in data["events"]] == ["expired.test"]
    assert data["findings"][0]["code"] == "server.cert_expired"

    r = runner.invoke(app, ["proxy", "events", str(path), "--action", "bypass", "--json"])
    assert r.exit_code == 0
    assert [e["host"] for e in json.loads(r.stdout)["events"]] == ["api.push.apple.com"]

    r = runner.invoke(app, ["proxy", "events", str(path), "--host", "good", "--json"])
    assert [e["host"] for e in json.loads(r.stdout)["events"]] == ["good.test"]


def test_events_bad_input(tmp_path: Path) -> None:
    r = runner.invoke(app, ["proxy", "events", str(tmp_path / "missing.jsonl")])
    assert r.exit_code == 2 and "cannot read" in r.output
    junk = tmp_path / "junk.txt"
    junk.write_text("not events\n")
    r = runner.invoke(app, ["proxy", "events", str(junk)])
    assert r.exit_code == 2 and "no proxy events" in r.output
    r = runner.invoke(app, ["proxy", "events", str(junk), "--action", "explode"])
    assert r.exit_code == 2


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--listen", "0.0.0.0:8080"], "--allow-client"),
        (["--listen", "nonsense"], "--listen"),
        (["--listen", "127.0.0.1:99999"], "bad port"),
        (["--ca-cert", "x.pem"], "--ca-cert and --ca-key go together"),
        (["--listen", "10.0.0.1:8080", "--allow-client", "nope"], "--allow-client"),
        (["--poll-us", "-1"], "--poll-us"),
        (["--poll-us", "10001"], "--poll-us"),
        (["--poll-us", "soon"], "--poll-us"),
    ],
)
def test_usage_errors(home: Path, args: list[str], needle: str) -> None:
    r = runner.invoke(app, ["proxy", *args])
    assert r.exit_code == 2, r.output
    assert needle in r.output


def test_no_ca_yet(home: Path) -> None:
    r = runner.invoke(app, ["proxy", "--listen", "127.0.0.1:0"])
    assert r.exit_code == 3 and "tlsdiag ca init" in r.output


def test_bad_policy_file(home: Path, tmp_path: Path) -> None:
    runner.invoke(app, ["ca", "init"])
    pol = tmp_path / "p.toml"
    pol.write_text("[[rule]]\naction = 'maybe'\n")
    r = runner.invoke(app, ["proxy", "--listen", "127.0.0.1:0", "--policy", str(pol)])
    assert r.exit_code == 2 and str(pol) in r.output


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_run_and_ctrl_c_flushes_events(home: Path, tmp_path: Path) -> None:
    assert runner.invoke(app, ["ca", "init"]).exit_code == 0
    events = tmp_path / "events.jsonl"
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    proc, url = spawn_proxy("--events", str(events), "--json", env=env, stdout=subprocess.PIPE)
    try:
        r = subprocess.run(
            [
                "curl",
                "-sS",
                "-m",
                "5",
                "-x",
                url,
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "http://127.0.0.1:9/",
            ],
            capture_output=True,
            text=True,
            timeout=15,
            env=env,
        )
        assert r.stdout == "502"  # nothing listens on port 9: the proxy says so
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert summary["command"] == "proxy" and summary["total_events"] == 1
    recs = [json.loads(x) for x in events.read_text().splitlines()]
    assert len(recs) == 1 and recs[0]["finding"] == "network.connect_failed"
    assert recs[0]["http_status"] == 502
