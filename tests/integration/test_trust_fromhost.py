"""``trust --from-host`` and ``--time-host`` against TLS servers on 127.0.0.1: the root is taken
from the chain the server presents (and found in the fake machine's stores), a rotated root is
recognised, and the clock is compared with a Date header the test chooses."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tlsdiag import codes
from tlsdiag.commands.trust import TrustOptions, run_trust
from tlsdiag.lab.pki import make_leaf
from tlsdiag.lab.servers import LabServer, TlsSettings, tls_context
from tlsdiag.net.probe import ProbeOptions
from tlsdiag.stores.clock import fetch_date

from helpers.trust_machine import (
    NOW,
    ca,
    clean_trust_env,  # noqa: F401 - autouse: clears trust env vars
    make_machine,
    rows_by_id,
)

pytestmark = pytest.mark.integration

PROBE = ProbeOptions(timeout=5.0, http=False, legacy_retry=False)


@pytest.fixture(scope="module")
def pki():
    root = ca("Acme Inspection Root")
    inter = ca("Acme Issuing CA", issuer=root)
    leaf = make_leaf(inter, now=NOW, names=["localhost"])
    return root, inter, leaf


def serve(chain, date_offset: float = 0.0) -> LabServer:
    ctx = tls_context(TlsSettings(chain=chain))
    return LabServer("tls", ctx=ctx, date_offset=date_offset).start()


@pytest.fixture
def inspected_server(pki):
    _, inter, leaf = pki
    server = serve((leaf, inter))  # the proxy sends leaf + intermediate, not its root
    yield server
    server.stop()


def run(machine, **opts):
    opts.setdefault("probe_options", PROBE)
    opts.setdefault("trust_env", False)
    return run_trust(machine.context(), TrustOptions(now=NOW, **opts))


def test_root_of_the_presented_chain_found_in_the_os_store(tmp_path, pki, inspected_server):
    root, _, _ = pki
    machine = make_machine(tmp_path)
    machine.os_bundle(root)
    [report] = run(machine, from_host=f"127.0.0.1:{inspected_server.port}", time_host="")
    assert report.facts["selection"]["mode"] == "from-host"
    assert report.facts["root"]["common_name"] == "Acme Inspection Root"
    assert report.facts["root"]["origin"].startswith("os-debian")
    assert report.facts["inspected"] is True
    assert [c["subject"] for c in report.facts["presented"]] == [
        "O=Example Lab Server,CN=localhost",
        "O=Trust Test,CN=Acme Issuing CA",
    ]
    rows = rows_by_id(report)
    assert rows["os-debian"]["trusts_root"] is True
    assert rows["certifi"]["trusts_root"] is False
    mismatch = [f for f in report.findings if f.code == codes.CLIENT_STORE_MISMATCH]
    assert {f.evidence["store"] for f in mismatch} >= {"certifi", "python-requests"}


def test_rotated_root_is_recognised(tmp_path, pki, inspected_server):
    machine = make_machine(tmp_path)
    old = ca("Acme Inspection Root")  # same name, another key: the previous root
    machine.os_bundle(old)
    [report] = run(machine, from_host=f"127.0.0.1:{inspected_server.port}", time_host="")
    assert report.facts["root"]["sha256"] is None  # the signing root is on no store here
    assert report.facts["root"]["subject"] == "O=Trust Test,CN=Acme Inspection Root"
    rows = rows_by_id(report)
    assert (rows["os-debian"]["trusts_root"], rows["os-debian"]["status"]) == (False, "rotated")
    titles = [f.title for f in report.findings if f.code == codes.CLIENT_ROOT_NOT_TRUSTED]
    assert "No store here holds the root that signed this chain" in titles
    assert report.exit_code == 1


def test_signing_root_absent_everywhere(tmp_path, pki, inspected_server):
    machine = make_machine(tmp_path)
    other = ca("Some Other Root")
    machine.os_bundle(other)
    [report] = run(machine, from_host=f"127.0.0.1:{inspected_server.port}", time_host="")
    assert report.facts["root"]["common_name"] == "Acme Inspection Root"
    assert all(row["trusts_root"] is False for row in report.facts["stores"] if row["present"])


def test_self_signed_server_root_is_the_chain_top(tmp_path):
    machine = make_machine(tmp_path)
    selfsigned = ca("Device Self Signed")
    server = serve((selfsigned,))
    try:
        [report] = run(machine, from_host=f"127.0.0.1:{server.port}", time_host="")
    finally:
        server.stop()
    assert report.facts["root"]["origin"] == f"sent by 127.0.0.1:{server.port}"
    assert rows_by_id(report)["os-debian"]["trusts_root"] is False


def test_connection_refused_is_a_finding_not_a_crash(tmp_path):
    import socket

    machine = make_machine(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    [report] = run(machine, from_host=f"127.0.0.1:{port}", time_host="")
    assert report.facts["root"] is None
    assert [f.code for f in report.findings] == [codes.NETWORK_CONNECT_FAILED]


# ------------------------------------------------------------------------------------ clock


@pytest.mark.parametrize(
    ("offset", "expected"),
    [(0, None), (-900, "warning"), (3 * 3600, "error")],
)
def test_clock_against_a_chosen_date_header(tmp_path, pki, offset, expected):
    root, inter, leaf = pki
    machine = make_machine(tmp_path)
    machine.os_bundle(root)
    server = serve((leaf, inter), date_offset=offset)
    try:
        [report] = run(
            machine,
            ca=machine.write("root.pem", root.cert_pem),
            time_host=f"127.0.0.1:{server.port}",
        )
    finally:
        server.stop()
    clock = report.facts["clock"]
    assert clock["host"] == f"127.0.0.1:{server.port}"
    assert clock["skew_seconds"] == pytest.approx(-offset, abs=3)
    assert clock["time_zone"] and clock["utc_offset"]
    skew = [f for f in report.findings if f.code == codes.CLIENT_CLOCK_SKEW]
    if expected is None:
        assert skew == []
    else:
        assert [f.severity.value for f in skew] == [expected]
        assert ("behind" if offset > 0 else "ahead of") in skew[0].detail


def test_fetch_date_unreachable():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sample = fetch_date(f"https://127.0.0.1:{port}/", timeout=2, trust_env=False)
    assert sample.error and sample.date == ""


def test_clock_defaults_to_the_from_host_target(tmp_path, pki):
    root, inter, leaf = pki
    machine = make_machine(tmp_path)
    machine.os_bundle(root)
    server = serve((leaf, inter), date_offset=-timedelta(hours=2).total_seconds())
    try:
        [report] = run(machine, from_host=f"127.0.0.1:{server.port}")
    finally:
        server.stop()
    assert report.facts["clock"]["host"] == f"127.0.0.1:{server.port}"
    assert [f.severity.value for f in report.findings if f.code == codes.CLIENT_CLOCK_SKEW] == [
        "error"
    ]
