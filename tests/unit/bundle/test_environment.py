"""Environment parsers on recorded output (macOS scutil, GNOME gsettings, Windows registry and
netsh, resolv.conf), proxy credentials masked, clock skew; the manifest check; the writer."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tlsdiag.core.bundle import default_name, manifest_problems
from tlsdiag.core.environment import (
    clock_skew,
    parse_gsettings_proxy,
    parse_netsh_winhttp,
    parse_resolv_conf,
    parse_scutil_proxy,
    parse_windows_proxy,
    proxy_env,
)
from tlsdiag.errors import InputError
from tlsdiag.stores.bundle_zip import KEY_REMOVED, new_file, scrub_keys
from tlsdiag.stores.environment import collect_environment, platform_proxy

SCUTIL = """<dictionary> {
  ExceptionsList : <array> {
    0 : *.local
    1 : 169.254/16
  }
  FTPPassive : 1
  HTTPEnable : 1
  HTTPPort : 8080
  HTTPProxy : proxy.corp.example
  HTTPSEnable : 1
  HTTPSPort : 8080
  HTTPSProxy : proxy.corp.example
  ProxyAutoConfigEnable : 1
  ProxyAutoConfigURLString : http://wpad.corp.example/proxy.pac
}
"""
NETSH = """
Current WinHTTP proxy settings:

    Proxy Server(s) :  proxy.corp.example:8080
    Bypass List     :  *.corp.example;<local>
"""


def test_scutil() -> None:
    out = parse_scutil_proxy(SCUTIL)
    assert out["https"] == "proxy.corp.example:8080" and out["mode"] == "auto"
    assert out["pac_url"] == "http://wpad.corp.example/proxy.pac"
    assert out["exceptions"] == ["*.local", "169.254/16"]
    assert parse_scutil_proxy("<dictionary> {\n  HTTPEnable : 0\n}\n")["mode"] == "none"


def test_gsettings_through_the_runner() -> None:
    answers = {
        ("org.gnome.system.proxy", "mode"): "'auto'\n",
        ("org.gnome.system.proxy", "autoconfig-url"): "'http://wpad.corp.example/wpad.dat'\n",
        ("org.gnome.system.proxy", "ignore-hosts"): "['localhost', '127.0.0.0/8']\n",
    }

    def run(cmd: list[str]) -> str | None:
        return answers.get((cmd[2], cmd[3]), "''\n")

    [out] = platform_proxy("linux", run)
    assert out == {
        "source": "gsettings org.gnome.system.proxy",
        "mode": "auto",
        "pac_url": "http://wpad.corp.example/wpad.dat",
        "exceptions": ["localhost", "127.0.0.0/8"],
    }
    assert platform_proxy("linux", lambda cmd: None) == []
    manual = parse_gsettings_proxy(
        {"mode": "'manual'", "https.host": "'p.example'", "https.port": "3128"}
    )
    assert manual["https"] == "p.example:3128"


def test_windows_registry_and_netsh() -> None:
    out = parse_windows_proxy(
        {
            "ProxyEnable": 1,
            "ProxyServer": "http=u:pw@p.example:80;https=p.example:443",
            "ProxyOverride": "*.corp;<local>",
        }
    )
    assert out["https"] == "p.example:443" and out["exceptions"] == ["*.corp", "<local>"]
    assert parse_windows_proxy({"AutoConfigURL": "http://pac/x.pac"})["mode"] == "auto"
    win = parse_netsh_winhttp(NETSH)
    assert win["server"] == "proxy.corp.example:8080"
    assert parse_netsh_winhttp("    Direct access (no proxy server).\n")["mode"] == "none"
    assert platform_proxy("darwin", lambda cmd: SCUTIL)[0]["source"] == "scutil --proxy"


def test_resolv_conf_and_proxy_env() -> None:
    text = "# generated\nnameserver 10.0.0.53\nnameserver fd00::53 # v6\nsearch corp.example\n"
    assert parse_resolv_conf(text)["nameservers"] == ["10.0.0.53", "fd00::53"]
    env = {"HTTPS_PROXY": "http://bob:s3cret@proxy:3128", "NO_PROXY": "localhost"}
    assert proxy_env(env) == {"HTTPS_PROXY": "http://REDACTED@proxy:3128", "NO_PROXY": "localhost"}


def test_clock_skew() -> None:
    local = datetime(2024, 5, 2, 9, 0, 30, tzinfo=UTC)
    assert clock_skew(local, "Thu, 02 May 2024 09:00:00 GMT", host="h")["skew_seconds"] == 30
    assert clock_skew(local, "garbage", host="h")["skew_seconds"] is None


def test_collect_environment_here() -> None:
    env = collect_environment({"HTTP_PROXY": "http://p:1"}, run=lambda cmd: None)
    assert env["versions"]["openssl"] and env["time"]["utc_offset"]
    assert env["proxy"]["environment"] == {"HTTP_PROXY": "http://p:1"}
    assert env["machine"]["os"]


def test_manifest_problems() -> None:
    m = {"files": {"a": {"sha256": "1"}, "b": {"sha256": "2"}}}
    assert manifest_problems(m, {"a": "1", "b": "2", "manifest.json": "x"}) == []
    assert manifest_problems(m, {"a": "1", "b": "3", "c": "4"}) == [
        "b: sha256 does not match the manifest (changed after writing)",
        "c: in the zip but not in the manifest (added after writing)",
    ]
    assert manifest_problems(None, {}) == ["manifest.json is missing or unreadable"]
    assert default_name(["a.example:443", "b"], datetime(2024, 5, 2, tzinfo=UTC)) == (
        "tlsdiag-bundle-a.example_443-and-1-more-20240502T000000Z.zip"
    )


@pytest.mark.parametrize(
    "fmt",
    [
        serialization.PrivateFormat.TraditionalOpenSSL,  # "RSA PRIVATE KEY", "EC PRIVATE KEY"
        serialization.PrivateFormat.PKCS8,  # "PRIVATE KEY"
    ],
)
def test_keys_are_scrubbed(fmt: serialization.PrivateFormat) -> None:
    """Keys made here and now, in the PEM forms a log or config file may hold."""
    keys: list[ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey] = [
        ec.generate_private_key(ec.SECP256R1()),
        rsa.generate_private_key(65537, 1024),
    ]
    none = serialization.NoEncryption()
    pems = [k.private_bytes(serialization.Encoding.PEM, fmt, none) for k in keys]
    out = scrub_keys(b"x\n" + b"between\n".join(pems) + b"y")
    assert out.startswith(b"x\n") and out.endswith(b"y") and b"between" in out
    assert b"PRIVATE KEY" not in out and out.count(KEY_REMOVED) == 2
    for pem in pems:
        body = [line for line in pem.splitlines() if not line.startswith(b"-----")]
        assert body and not any(line in out for line in body)


def test_new_file_refuses_existing_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "out.zip"
    path.write_text("old")
    with pytest.raises(InputError, match="exists"), new_file(path, force=False) as fh:
        fh.write(b"new")
    assert path.read_text() == "old"
    with new_file(path, force=True) as fh:
        fh.write(b"new")
    assert path.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["out.zip"]
    with pytest.raises(InputError, match="directory"), new_file(tmp_path, force=True):
        pass
