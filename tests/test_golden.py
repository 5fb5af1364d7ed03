"""Golden JSON: each command's ``--format json`` output on the lab, pinned in fixtures/golden/.

The volatile parts (times, ports, durations, serial numbers and fingerprints of the certificates
generated at test time, temporary paths, the tool version, the values of the machine block) are
replaced by placeholders; every other key and value, and the key order, must match the file
byte for byte.

Regenerate after an intended change of the output (then review ``git diff fixtures/golden``)::

    python -m pytest tests/test_golden.py --update-golden
"""

from __future__ import annotations

import json
import re
import ssl
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tlsdiag.cli.app import app
from tlsdiag.lab.cases import CASE_NAMES, Lab
from tlsdiag.stores import context

from helpers.fleet_docs import check, trust
from helpers.trust_machine import ca, make_machine

pytestmark = pytest.mark.integration

GOLDEN = Path(__file__).resolve().parent.parent / "fixtures" / "golden"
runner = CliRunner()

_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?")
_HTTP_DATE = re.compile(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT")
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_SSL_SOURCE = re.compile(r"\(_ssl\.c:\d+\)")  # CPython's own line: moves between versions
# the key-exchange group a lab server picks is its libssl's (OpenSSL 3.5: X25519MLKEM768)
_PICKED_GROUP = re.compile(r"^(ServerHello|HelloRetryRequest), \w+$")
_HEX = re.compile(r"\b[0-9a-fA-F]{32,}\b|\b(?:[0-9A-F]{2}:){15,}[0-9A-F]{2}\b")
_PORT = re.compile(r"(127\.0\.0\.1|localhost|\.test|\]):\d{1,5}\b")
_PORT_WORD = re.compile(r"\bport (?:= )?\d{1,5}\b")
_LAB_DIR = re.compile(r"/[^\s'\"]*tlsdiag-lab-[^/\s'\"]+")
# keys whose value is volatile whatever it looks like
_VOLATILE = {
    "port": 0,
    "ms": 0.0,
    "seconds": 0.0,
    "serial": "<serial>",
    "tool_version": "<version>",
    "spki_sha256": "<spki>",
    "ca_spki_sha256": "<spki>",
    "spki_sha256_base64": "<spki>",
    "time_zone": "<tz>",
    "utc_offset": "<tz>",
}
_VOLATILE_MAPS = {"timings_ms"}  # every value inside is a duration
_MACHINE = "machine"  # the machine block of trust and check: each value names this machine
# Texts that race on the lab: after a TLS 1.3 handshake without the required client
# certificate, the HTTP request sees either the server's alert or the reset that follows it.
_RACY = re.compile(
    r"connection error after the handshake: .*Connection reset by peer|"
    r"certificate required: \[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED\].*"
)


def normalize(value: Any, tmp: Sequence[str] = ()) -> Any:
    """``value`` (a parsed JSON document) with its volatile parts replaced by placeholders.

    Args:
        value: the document.
        tmp: temporary directories to write as ``<tmp>``.

    Returns:
        The same structure, key order kept.
    """
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key in _VOLATILE and item is not None:
                out[key] = _VOLATILE[key]
            elif key in _VOLATILE_MAPS and isinstance(item, dict):
                out[key] = dict.fromkeys(item, 0.0)
            elif key == _MACHINE and isinstance(item, dict):
                out[key] = {k: f"<{k}>" for k in item}
            else:
                out[normalize(key, tmp)] = normalize(item, tmp)
        return out
    if isinstance(value, list):
        return [normalize(v, tmp) for v in value]
    if isinstance(value, str):
        for path in sorted(tmp, key=len, reverse=True):
            value = value.replace(path, "<tmp>")
        value = _LAB_DIR.sub("<tmp>", value)
        value = _RACY.sub("<client certificate required or reset>", value)
        value = _HTTP_DATE.sub("<http-date>", value)
        value = _ISO_TIME.sub("<time>", value)
        value = _DATE.sub("<date>", value)
        value = _HEX.sub("<hex>", value)
        value = _SSL_SOURCE.sub("(_ssl.c:<line>)", value)
        value = _PICKED_GROUP.sub(r"\1, <group>", value)
        value = _PORT_WORD.sub(lambda m: m[0].rstrip("0123456789") + "<port>", value)
        return _PORT.sub(r"\1:<port>", value)
    return value


def dump(doc: Any) -> str:
    """The golden file's text for a normalised document."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def check_golden(name: str, stdout: str, update: bool, tmp: Sequence[str] = ()) -> str | None:
    """Compare (or, with ``update``, rewrite) ``fixtures/golden/<name>.json``.

    Returns:
        None when the output matches, else a message naming the file and the first difference.
    """
    text = dump(normalize(json.loads(stdout), tmp))
    path = GOLDEN / f"{name}.json"
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return None
    if not path.is_file():
        return f"{path} is missing: run python -m pytest tests/test_golden.py --update-golden"
    expected = path.read_text(encoding="utf-8")
    if text == expected:
        return None
    got, want = text.splitlines(), expected.splitlines()
    for i, (a, b) in enumerate(zip(got, want, strict=False)):
        if a != b:
            return f"{path.name} line {i + 1}: expected {b.strip()!r}, got {a.strip()!r}"
    return f"{path.name}: expected {len(want)} lines, got {len(got)}"


@pytest.fixture
def update(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def _assert(name: str, stdout: str, update: bool, tmp: Sequence[str] = ()) -> None:
    problem = check_golden(name, stdout, update, tmp)
    assert problem is None, problem + "\n(if intended: pytest tests/test_golden.py --update-golden)"


def _json(args: Sequence[str], *, codes: tuple[int, ...] = (0, 1)) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code in codes, result.output
    return result.stdout


def _lab_args(lab: Lab, name: str) -> list[str]:
    case = lab.cases[name]
    return ["--resolve", case.resolve, "--cafile", str(lab.root_pem_path), case.target]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_check(lab: Lab, name: str, update: bool) -> None:
    if name == "pq-middlebox" and ssl.OPENSSL_VERSION_INFO >= (3, 5):
        # Python's own hello is browser-sized from OpenSSL 3.5 on: its handshake is reset too,
        # a different report (integration/test_browser_hello.py checks both forms)
        pytest.skip("the golden file is OpenSSL 3.0's report")
    out = _json(["check", "--format", "json", "--timeout", "5", *_lab_args(lab, name)])
    _assert(f"check-{name}", out, update)


def test_probe(lab: Lab, update: bool) -> None:
    _assert("probe-good", _json(["probe", "--format", "json", *_lab_args(lab, "good")]), update)


def test_probe_scan(lab: Lab, update: bool) -> None:
    """``probe --scan`` on the lab's good server (Python ssl: TLS 1.2 and 1.3).

    The TLS 1.3 groups are those of the lab's libssl (OpenSSL 3.5 adds X25519MLKEM768 and drops
    ffdhe4096 and larger from its defaults), so they are not pinned in the golden file:
    ``openssl s_client`` must agree with the scan, group by group
    (``integration/test_scan_lab.py``).
    """
    case = lab.cases["good"]
    args = ["probe", "--scan", "--format", "json", "--resolve", case.resolve, case.target]
    doc = json.loads(_json(args))
    groups = doc["scan"]["groups"]
    assert groups["TLSv1.3"], "no TLS 1.3 group found"
    groups["TLSv1.3"] = ["<the lab's libssl: agreed with openssl s_client>"]
    # A libssl that prefers a group the scan's first hello has no key share for (3.5:
    # X25519MLKEM768) asks for one: TLS 1.3 is accepted either way.
    answers = doc["scan"]["answers"]
    assert answers["TLSv1.3"] in ("ServerHello", "HelloRetryRequest"), answers
    answers["TLSv1.3"] = "<ServerHello or HelloRetryRequest>"
    _assert("probe-scan-good", json.dumps(doc), update)


def test_fleet_report(tmp_path: Path, update: bool) -> None:
    """``fleet report`` on generated results: two machines (one lacks the root), one truncated
    file."""
    root = tmp_path / "results"
    for host, stores in (("h1", {"certifi": "missing"}), ("h2", {"certifi": "trusted"})):
        (root / host).mkdir(parents=True)
        (root / host / "trust.json").write_text(json.dumps([trust(host, stores)]))
        (root / host / "check.json").write_text(json.dumps([check(host, "a.test:443")]))
    (root / "h3.json").write_text('{"schema": "tlsdiag.report", "comm')
    out = _json(["fleet", "report", "--format", "json", str(root)])
    _assert("fleet-report", out, update, [str(tmp_path)])


def test_issuer(lab: Lab, update: bool) -> None:
    out = _json(["issuer", "--format", "json", *_lab_args(lab, "good")])
    _assert("issuer-good", out, update)


def _leaf_file(lab: Lab, name: str, tmp_path: Path) -> Path:
    doc = json.loads(_json(["probe", "--format", "json", "--showcerts", *_lab_args(lab, name)]))
    path = tmp_path / f"{name}-leaf.pem"
    path.write_text(doc["pem"][0], encoding="ascii")
    return path


def test_chain(lab: Lab, tmp_path: Path, update: bool) -> None:
    leaf = _leaf_file(lab, "incomplete-chain", tmp_path)
    host = lab.cases["incomplete-chain"].target.rsplit(":", 1)[0]
    args = ["chain", "--format", "json", "--cafile", str(lab.root_pem_path), "--host", host]
    _assert("chain-incomplete-chain", _json([*args, str(leaf)]), update, [str(tmp_path)])


def test_explain(update: bool) -> None:
    text = GOLDEN / "explain_input.txt"
    out = _json(["explain", "--format", "json", "--file", str(text)])
    _assert("explain-java-pkix", out, update, [str(GOLDEN.parent.parent)])


@pytest.fixture
def fake_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    fake = make_machine(tmp_path)
    monkeypatch.setattr(context, "machine_context", lambda env, home, **kw: fake.context())
    yield fake


def test_trust(fake_machine: Any, tmp_path: Path, update: bool) -> None:
    fake_machine.os_bundle(ca("Golden Inspection Root"))
    _assert("trust-fake-home", _json(["trust", "--format", "json"]), update, [str(tmp_path)])


def test_demo(update: bool) -> None:
    out = _json(["demo", "--format", "json", "--case", "good", "--case", "expired"], codes=(0,))
    _assert("demo-good-expired", out, update)


def test_ca_path(tmp_path: Path, update: bool) -> None:
    out = _json(["ca", "path", "--format", "json", "--dir", str(tmp_path / "ca")], codes=(0,))
    _assert("ca-path", out, update, [str(tmp_path)])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="this machine's steps: Linux")
def test_ca_trust_help(fake_machine: Any, tmp_path: Path, update: bool) -> None:
    """On this machine's platform the steps come from its stores: the fake machine's."""
    args = ["ca", "trust-help", "--format", "json", "--platform", "linux"]
    out = _json([*args, "--dir", str(tmp_path / "ca")], codes=(0,))
    _assert("ca-trust-help-linux", out, update, [str(tmp_path)])


def test_explain_code(update: bool) -> None:
    out = _json(["explain", "--format", "json", "--code", "server.chain_incomplete"], codes=(0,))
    _assert("explain-code", out, update)


def test_lab_list(update: bool) -> None:
    _assert("lab-list", _json(["lab", "list", "--format", "json"], codes=(0,)), update)


def test_a_changed_key_or_value_fails() -> None:
    """Negative control: the comparison notices a renamed key and a changed value."""
    doc = json.loads((GOLDEN / "lab-list.json").read_text(encoding="utf-8"))
    assert check_golden("lab-list", json.dumps(doc), update=False) is None
    renamed = json.loads(json.dumps(doc).replace('"expect"', '"expected"', 1))
    problem = check_golden("lab-list", json.dumps(renamed), update=False)
    assert problem is not None and '"expected"' in problem
    changed = dict(doc, cases=[dict(doc["cases"][0], description="something else")])
    problem = check_golden("lab-list", json.dumps(changed), update=False)
    assert problem is not None and "something else" in problem
    # a volatile value is normalised away, so it does not fail
    assert check_golden("lab-list", json.dumps(dict(doc, tool_version="9.9")), update=False) is None


@pytest.mark.parametrize("name", ["good", "expired"])
def test_compare(lab: Lab, name: str, update: bool) -> None:
    """``compare`` on a lab case through the embedded proxy (ports and times normalised)."""
    out = _json(["compare", "--format", "json", "--timeout", "5", *_lab_args(lab, name)])
    doc = json.loads(out)
    # the proxy records a connection's event when it ends: racing the report on a good host
    doc["inspecting_path"]["event"] = "<event>"
    _assert(f"compare-{name}", json.dumps(doc), update)


HAR = GOLDEN.parent / "har"


@pytest.mark.parametrize("name", ["chrome-login", "firefox-blocked", "safari-bom"])
def test_har(name: str, update: bool) -> None:
    out = _json(["har", "--format", "json", str(HAR / f"{name}.har")])
    _assert(f"har-{name}", out, update, [str(HAR.parent.parent)])


def _events_file(path: Path) -> Path:
    """Three recorded connections: one inspected, one bypassed, one blocked for its certificate."""
    from tlsdiag.proxy.events import ProxyEvent

    events = [
        ProxyEvent(
            time="2026-01-02T03:04:05Z",
            client="127.0.0.1:50000",
            host="a.test",
            port=443,
            sni="a.test",
            rule="default",
            action="inspect",
            tls_inspection=1,
            upstream_version="TLSv1.3",
            cipher="TLS_AES_128_GCM_SHA256",
            issuer="CN=Public CA",
            verification="ok",
            forged="trusted",
            client_handshake="ok",
            bytes_up=120,
            bytes_down=4000,
            closed_by="client",
        ),
        ProxyEvent(
            time="2026-01-02T03:04:06Z",
            client="127.0.0.1:50001",
            host="bank.test",
            port=443,
            sni="bank.test",
            rule="banks",
            action="bypass",
            bytes_up=300,
            bytes_down=9000,
            closed_by="server",
        ),
        ProxyEvent(
            time="2026-01-02T03:04:07Z",
            client="127.0.0.1:50002",
            host="old.test",
            port=443,
            sni="old.test",
            rule="default",
            action="block",
            issuer="CN=Old CA",
            verification="certificate has expired",
            tls_certificate_error="certificate has expired",
            finding="server.cert_expired",
            detail="the certificate of old.test has expired",
            http_status=403,
            closed_by="proxy",
        ),
    ]
    path.write_text("".join(json.dumps(e.to_dict()) + "\n" for e in events), encoding="utf-8")
    return path


def test_proxy_events(tmp_path: Path, update: bool) -> None:
    events = _events_file(tmp_path / "events.jsonl")
    _assert(
        "proxy-events",
        _json(["proxy", "events", "--format", "json", str(events)]),
        update,
        [str(tmp_path)],
    )
    out = _json(["proxy", "events", "--format", "json", "--errors", str(events)])
    _assert("proxy-events-errors", out, update, [str(tmp_path)])


def test_ca_init_and_show(tmp_path: Path, update: bool) -> None:
    ca_dir = str(tmp_path / "ca")
    out = _json(
        ["ca", "init", "--format", "json", "--permit", "corp.test", "--dir", ca_dir], codes=(0,)
    )
    _assert("ca-init", out, update, [str(tmp_path)])
    _assert(
        "ca-show",
        _json(["ca", "show", "--format", "json", "--dir", ca_dir], codes=(0,)),
        update,
        [str(tmp_path)],
    )


_BUNDLE_VOLATILE = (
    (re.compile(r"/[^\s\"']*tlsdiag-root-[^/\s\"']+"), "<tmp>"),  # the trust step's root copy
    (re.compile(r"_\d{1,5}\.pem\b"), "_<port>.pem"),  # certs/HOST_PORT.pem
)


def _bundle_doc(stdout: str) -> Any:
    for pattern, repl in _BUNDLE_VOLATILE:
        stdout = pattern.sub(repl, stdout)
    return json.loads(stdout)


def test_bundle_and_show(lab: Lab, fake_machine: Any, tmp_path: Path, update: bool) -> None:
    """``bundle --json`` (no compare: its proxy races) and ``bundle show --json`` of the zip;
    the environment block names this machine, so only its keys are pinned."""
    fake_machine.os_bundle(ca("Golden Inspection Root"))
    out = tmp_path / "b.zip"
    har = HAR / "chrome-login.har"
    args = ["bundle", "--json", "--no-compare", "--har", str(har), "--note", "golden", "-o"]
    doc = _bundle_doc(_json([*args, str(out), "--timeout", "5", *_lab_args(lab, "expired")]))
    version = doc["tool_version"]
    env = doc["environment"]
    for key, block in env.items():
        if isinstance(block, dict):
            env[key] = {k: f"<{k}>" for k in block}
    tmp = [str(tmp_path), str(HAR.parent.parent)]
    _assert("bundle", json.dumps(doc), update, tmp)
    show = _bundle_doc(_json(["bundle", "show", "--json", str(out)], codes=(0,)))
    show["made_by"] = show["made_by"].replace(version, "<version>", 1)
    for entry in show["files"]:
        entry["size"] = 0  # report.json and report.html hold times, ports, serials
    _assert("bundle-show", json.dumps(show), update, tmp)
