"""Store readers on real files: PEM bundles, OpenSSL hashed directories, Java keystores (made
with keytool when installed, and with cryptography), NSS databases (made with certutil when
installed), config files, and the macOS / Windows readers replaying recorded output."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tlsdiag.core.certbuild import Issued
from tlsdiag.stores import configfiles
from tlsdiag.stores.platform_stores import (
    CommandResult,
    macos_trust_settings,
    parse_trust_settings,
    read_keychain,
    read_windows_store,
)
from tlsdiag.stores.readers import (
    parse_jks,
    read_hashed_dir,
    read_java_keystore,
    read_nss,
    read_pem,
    read_pem_dir,
    subject_hash,
)

from helpers.trust_machine import (
    ca,
    clean_trust_env,  # noqa: F401 - autouse: clears trust env vars
    der,
    pem,
    pkcs12_truststore,
    public_roots,
)

FIXTURES = Path(__file__).parents[3] / "fixtures" / "trust"
OPENSSL = shutil.which("openssl") or ""  # "" when not installed
KEYTOOL = shutil.which("keytool") or ""  # "" when not installed
CERTUTIL = shutil.which("certutil") or ""  # "" when not installed


@pytest.fixture(scope="module")
def root():
    return ca("Acme Inspection Root")


def sha256(issued) -> str:
    return hashlib.sha256(der(issued)).hexdigest()


# ------------------------------------------------------------------------------ PEM and DER


def test_pem_bundle_with_crlf_duplicates_and_trusted_certificate_block(tmp_path, root):
    one, two = public_roots()
    trusted_block = (
        b"-----BEGIN TRUSTED CERTIFICATE-----\n"
        + base64.encodebytes(der(two) + bytes.fromhex("300a300806062b0601050507"))
        + b"-----END TRUSTED CERTIFICATE-----\n"
    )
    data = pem(one).replace(b"\n", b"\r\n") + pem(one) + trusted_block + b"garbage\n" + pem(root)
    path = tmp_path / "bundle.pem"
    path.write_bytes(data)
    certs, error = read_pem(path)
    assert error == ""
    assert [c.sha256 for c in certs] == [sha256(one), sha256(two), sha256(root)]
    assert certs[2].subject == "O=Trust Test,CN=Acme Inspection Root"
    assert certs[2].spki_sha256 != certs[2].sha256


def test_der_file_missing_file_and_not_a_certificate(tmp_path, root):
    (tmp_path / "root.cer").write_bytes(der(root))
    assert [c.sha256 for c in read_pem(tmp_path / "root.cer")[0]] == [sha256(root)]
    certs, error = read_pem(tmp_path / "nope.pem")
    assert certs == () and "cannot read" in error
    (tmp_path / "text.pem").write_text("hello\n")
    assert "no certificate" in read_pem(tmp_path / "text.pem")[1]
    assert "is a directory" in read_pem(tmp_path)[1]


# -------------------------------------------------------------------------- hashed directory


@pytest.mark.skipif(not OPENSSL, reason="openssl is not installed")
@pytest.mark.parametrize(
    "cn", ["Acme Inspection Root", "  MiXeD   case\tspaces  ", "Ünïcödé Root", "Zscaler Root CA"]
)
def test_subject_hash_matches_openssl(tmp_path, cn):
    issued = ca(cn, org="Trust  TEST")
    path = tmp_path / "c.pem"
    path.write_bytes(issued.cert_pem)
    expected = subprocess.run(
        [OPENSSL, "x509", "-noout", "-hash", "-in", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert subject_hash(issued.cert.subject.public_bytes()) == expected


@pytest.mark.skipif(not OPENSSL, reason="openssl is not installed")
def test_hashed_dir_sees_only_rehashed_certificates(tmp_path, root):
    capath = tmp_path / "certs"
    capath.mkdir()
    (capath / "public.pem").write_bytes(pem(public_roots()[0]))
    (capath / "acme.pem").write_bytes(pem(root))
    subprocess.run([OPENSSL, "rehash", str(capath)], check=True, capture_output=True)
    (capath / "late.pem").write_bytes(pem(public_roots()[1]))  # copied in after the rehash
    certs = {c.sha256: c for c in read_hashed_dir(capath)[0]}
    assert certs[sha256(root)].trusted is True
    assert certs[sha256(public_roots()[0])].trusted is True
    late = certs[sha256(public_roots()[1])]
    assert late.trusted is False
    assert "openssl rehash" in late.why_untrusted
    # the same directory read the Go way: every file counts
    assert all(c.trusted for c in read_pem_dir(capath)[0])
    assert "not a directory" in read_hashed_dir(capath / "acme.pem")[1]


# ----------------------------------------------------------------------------- Java keystores


def test_pkcs12_truststore_passwordless_and_changeit(tmp_path, root):
    free = pkcs12_truststore(tmp_path / "cacerts", {"acme": root, "pub": public_roots()[0]}, None)
    certs, error = read_java_keystore(free)
    assert error == ""
    assert {c.label: c.sha256 for c in certs} == {
        "acme": sha256(root),
        "pub": sha256(public_roots()[0]),
    }
    locked = pkcs12_truststore(tmp_path / "locked", {"acme": root}, b"changeit")
    assert [c.label for c in read_java_keystore(locked)[0]] == ["acme"]
    other = pkcs12_truststore(tmp_path / "other", {"acme": root}, b"s3cret")
    certs, error = read_java_keystore(other)
    assert certs == () and "default password" in error


def test_not_a_keystore(tmp_path):
    bad = tmp_path / "cacerts"
    bad.write_bytes(b"\xfe\xed\xfe\xed\x00\x00\x00\x02\x00\x00\x00\x05\x00")
    assert "truncated" in read_java_keystore(bad)[1]
    bad.write_text("hello")
    assert "not a Java keystore" in read_java_keystore(bad)[1]
    with pytest.raises(ValueError, match="not a JKS"):
        parse_jks(b"\x00" * 16)


@pytest.mark.skipif(not KEYTOOL, reason="keytool (a JDK) is not installed")
@pytest.mark.parametrize("storetype", ["JKS", "PKCS12"])
def test_keytool_made_keystores(tmp_path, root, storetype):
    (tmp_path / "root.pem").write_bytes(pem(root))
    (tmp_path / "pub.pem").write_bytes(pem(public_roots()[0]))
    store = tmp_path / "cacerts"
    for alias, file in (("acme", "root.pem"), ("pub", "pub.pem")):
        subprocess.run(
            [KEYTOOL, "-importcert", "-noprompt", "-trustcacerts", "-alias", alias, "-file",
             str(tmp_path / file), "-keystore", str(store), "-storetype", storetype,
             "-storepass", "changeit"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    magic = store.read_bytes()[:4]
    assert magic == b"\xfe\xed\xfe\xed" if storetype == "JKS" else magic[:1] == b"\x30"
    certs, error = read_java_keystore(store)
    assert error == ""
    assert {c.label: c.sha256 for c in certs} == {
        "acme": sha256(root),
        "pub": sha256(public_roots()[0]),
    }


# ------------------------------------------------------------------------------ NSS cert9.db


@pytest.mark.skipif(not CERTUTIL, reason="certutil is not installed (apt: libnss3-tools)")
def test_nss_database_trust_flags(tmp_path, root):
    db = tmp_path / "profile"
    db.mkdir()
    run = lambda *a: subprocess.run([CERTUTIL, *a], check=True, capture_output=True, timeout=30)  # noqa: E731
    run("-N", "-d", f"sql:{db}", "--empty-password")
    (tmp_path / "root.pem").write_bytes(pem(root))
    (tmp_path / "pub.pem").write_bytes(pem(public_roots()[0]))
    (tmp_path / "peer.pem").write_bytes(pem(public_roots()[1]))
    run("-A", "-d", f"sql:{db}", "-n", "Acme", "-t", "C,,", "-i", str(tmp_path / "root.pem"))
    run("-A", "-d", f"sql:{db}", "-n", "Pub", "-t", ",,", "-i", str(tmp_path / "pub.pem"))
    run("-A", "-d", f"sql:{db}", "-n", "Peer", "-t", "P,,", "-i", str(tmp_path / "peer.pem"))
    certs = {c.label: c for c in read_nss(db / "cert9.db")[0]}
    assert certs["Acme"].trusted is True and certs["Acme"].sha256 == sha256(root)
    assert certs["Pub"].trusted is False and "no trust flags" in certs["Pub"].why_untrusted
    assert certs["Peer"].trusted is False and "trusted peer" in certs["Peer"].why_untrusted


def test_nss_not_a_database(tmp_path):
    bad = tmp_path / "cert9.db"
    bad.write_bytes(b"not sqlite at all" * 100)
    certs, error = read_nss(bad)
    assert certs == () and error
    assert "cert8.db" in read_nss(tmp_path / "cert8.db")[1]


# ------------------------------------------------------------------------------ config files


def test_ini_kv_curlrc_gitconfig_json_prefs(tmp_path):
    ini = tmp_path / "pip.conf"
    ini.write_text("[global]\ncert = /g.pem\n[install]\ncert = '/i.pem'\n")
    assert configfiles.ini_value(ini, ["install", "global"], "cert") == "/i.pem"
    assert configfiles.ini_value(ini, ["download"], "cert") is None
    npmrc = tmp_path / ".npmrc"
    npmrc.write_text('; comment\ncafile=/a.pem\nregistry=https://r/\ncafile = "/b.pem"\n')
    assert configfiles.kv_value(npmrc, "cafile") == "/b.pem"
    yarnrc = tmp_path / ".yarnrc"
    yarnrc.write_text('# yarn lockfile v1\ncafile "/y.pem"\n')
    assert configfiles.kv_value(yarnrc, "cafile") == "/y.pem"
    condarc = tmp_path / ".condarc"
    condarc.write_text("channels:\n  - defaults\nssl_verify: truststore\n")
    assert configfiles.kv_value(condarc, "ssl_verify") == "truststore"
    curlrc = tmp_path / ".curlrc"
    curlrc.write_text('# x\n--cacert /c1.pem\ncacert = "/c2.pem"\n')
    assert configfiles.curlrc_value(curlrc, "cacert") == "/c2.pem"
    git = tmp_path / ".gitconfig"
    git.write_text(
        '[user]\n\tname = x\n[http "https://other.example/"]\n\tsslCAInfo = /url.pem\n'
        "[HTTP]\n\tsslcainfo = /g.pem ; comment\n\tsslBackend = schannel\n"
    )
    assert configfiles.gitconfig_value(git, "http.sslcainfo") == "/g.pem"
    assert configfiles.gitconfig_value(git, "http.sslbackend") == "schannel"
    assert configfiles.gitconfig_value(git, "user.email") is None
    pol = tmp_path / "policies.json"
    pol.write_text(json.dumps({"policies": {"Certificates": {"Install": ["/r.pem"]}}}))
    assert configfiles.json_value(pol, "policies.Certificates.Install") == ["/r.pem"]
    assert configfiles.json_value(pol, "policies.Nope") is None
    (tmp_path / "prefs.js").write_text(
        'user_pref("security.enterprise_roots.enabled", false);\nuser_pref("a.b", "x");\n'
    )
    (tmp_path / "user.js").write_text('user_pref("security.enterprise_roots.enabled", true);\n')
    assert configfiles.firefox_pref(tmp_path, "security.enterprise_roots.enabled") is True
    assert configfiles.firefox_pref(tmp_path, "a.b") == "x"
    assert configfiles.firefox_pref(tmp_path, "missing") is None


def test_firefox_profiles_ini(tmp_path):
    ini = tmp_path / "profiles.ini"
    ini.write_text(
        "[Install4F96D1932A9F858E]\nDefault=abc.default-release\n"
        "[Profile0]\nName=default-release\nIsRelative=1\nPath=abc.default-release\n"
        f"[Profile1]\nName=work\nIsRelative=0\nPath={tmp_path / 'elsewhere'}\n"
    )
    assert configfiles.firefox_profiles(ini) == [
        ("default-release", tmp_path / "abc.default-release"),
        ("work", tmp_path / "elsewhere"),
    ]


# ------------------------------------------------------------------ macOS (recorded output)


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    assert "{{" not in text, "unfilled placeholder in a fixture"
    return text


def test_macos_keychain_replay(tmp_path, root):
    untrusted = ca("Present Without Trust")
    denied = ca("Denied Root")
    values = {}
    for tag, issued in (("ROOT", root), ("UNTRUSTED", untrusted), ("DENIED", denied)):
        values[f"PEM_{tag}"] = issued.cert_pem.decode().strip()
        values[f"SHA256_{tag}"] = hashlib.sha256(der(issued)).hexdigest().upper()
        values[f"SHA1_{tag}"] = hashlib.sha1(der(issued)).hexdigest().upper()
    listing = _fill((FIXTURES / "macos_find_certificate_system.txt").read_text(), values)
    plist = _fill((FIXTURES / "macos_trust_settings_admin.plist").read_text(), values)
    calls = []

    def run(argv):
        calls.append(list(argv))
        if argv[:2] == ["security", "find-certificate"]:
            return CommandResult(0, listing.encode())
        if argv[:2] == ["security", "trust-settings-export"]:
            if "-d" in argv:
                Path(argv[-1]).write_text(plist)
                return CommandResult(0)
            return CommandResult(
                1,
                b"",
                b"SecTrustSettingsCreateExternalRepresentation: No Trust Settings were found.",
            )
        raise AssertionError(argv)

    trust = macos_trust_settings(run)
    assert trust[values["SHA1_ROOT"]] is True
    assert trust[values["SHA1_DENIED"]] is False
    certs, error = read_keychain("/Library/Keychains/System.keychain", run, trust)
    assert error == ""
    by_sha = {c.sha256: c for c in certs}
    assert by_sha[sha256(root)].trusted is True
    assert by_sha[sha256(untrusted)].trusted is False
    assert "Always Trust" in by_sha[sha256(untrusted)].why_untrusted
    assert "denies" in by_sha[sha256(denied)].why_untrusted
    assert [
        "security",
        "find-certificate",
        "-a",
        "-Z",
        "-p",
        "/Library/Keychains/System.keychain",
    ] in calls


def test_macos_without_security_command():
    certs, error = read_keychain("/Library/Keychains/System.keychain", lambda argv: None, {})
    assert certs == () and "not available" in error
    failing = lambda argv: CommandResult(50, b"", b"security: SecKeychainOpen: no such keychain")  # noqa: E731
    assert "no such keychain" in read_keychain("x", failing, {})[1]
    assert parse_trust_settings(b"not a plist") == {}


# ----------------------------------------------------------------- Windows (recorded output)


def _windows_replay(certs: dict[str, Issued]):
    raw = (FIXTURES / "windows_enum_certificates_root.json").read_text()
    values = {}
    for tag, issued in certs.items():
        values[tag] = base64.b64encode(der(issued)).decode()
        values[f"SHA1_{tag}"] = hashlib.sha1(der(issued)).hexdigest().upper()
    doc = json.loads(_fill(raw, values))
    entries = [
        (
            base64.b64decode(e["cert"]),
            e["encoding"],
            e["trust"] if e["trust"] is True else set(e["trust"]),
        )
        for e in doc["entries"]
    ]
    registry = set(doc["registry"])
    return (lambda store: entries if store == "ROOT" else []), registry.__contains__


def test_windows_machine_and_user_root_replay(root):
    user_root = ca("User Installed Root")
    code_only = ca("Code Signing Only Root")
    enum, has = _windows_replay(
        {"PUBLIC": public_roots()[0], "MACHINE_ROOT": root, "USER_ROOT": user_root,
         "CODE_SIGNING_ONLY": code_only}
    )  # fmt: skip
    machine_keys = (
        "HKLM\\SOFTWARE\\Microsoft\\SystemCertificates\\ROOT\\Certificates",
        "HKLM\\SOFTWARE\\Policies\\Microsoft\\SystemCertificates\\Root\\Certificates",
    )
    user_keys = ("HKCU\\Software\\Microsoft\\SystemCertificates\\Root\\Certificates",)
    machine = {c.sha256: c for c in read_windows_store("ROOT", machine_keys, enum, has)[0]}
    user = {c.sha256: c for c in read_windows_store("ROOT", user_keys, enum, has)[0]}
    assert set(machine) == {sha256(public_roots()[0]), sha256(root)}  # GPO root counts
    assert set(user) == {sha256(user_root), sha256(code_only)}
    assert user[sha256(user_root)].trusted is True  # serverAuth among the EKUs
    assert user[sha256(code_only)].trusted is False
    assert "server authentication" in user[sha256(code_only)].why_untrusted
    assert read_windows_store("ROOT", machine_keys, None, None)[1]
