"""``trust`` end to end on fake machines: real store files in temporary directories, pointed at
through the env vars and config files the tools themselves read. The context is built from an
explicit environment, so the machine's own SSL_CERT_FILE, REQUESTS_CA_BUNDLE ... never leak in."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tlsdiag import codes
from tlsdiag.commands.trust import TrustOptions, run_trust
from tlsdiag.errors import InputError
from tlsdiag.stores.platform_stores import CommandResult

from helpers.trust_machine import (
    NOW,
    ca,
    clean_trust_env,  # noqa: F401 - autouse: clears trust env vars
    der,
    make_machine,
    pem,
    pkcs12_truststore,
    public_roots,
    rows_by_id,
)

CERTUTIL = shutil.which("certutil") or ""  # "" when not installed
OPENSSL = shutil.which("openssl") or ""  # "" when not installed
KEYTOOL = shutil.which("keytool") or ""  # "" when not installed


@pytest.fixture(scope="module")
def root():
    return ca("Acme Inspection Root")


@pytest.fixture
def machine(tmp_path):
    return make_machine(tmp_path)


def audit(machine, root=None, **opts):
    """Run ``trust`` on the fake machine (``--ca`` when a root file is given)."""
    if root is not None and "ca" not in opts:
        opts["ca"] = machine.write("root.pem", pem(root))
    ctx = machine.context(**opts.pop("ctx", {}))
    reports = run_trust(ctx, TrustOptions(now=NOW, **opts))
    assert len(reports) == 1
    return reports[0]


def codes_of(report):
    return [(f.code, f.severity.value, f.evidence.get("store")) for f in report.findings]


def test_root_only_in_os_store_breaks_certifi_tools(machine, root):
    machine.os_bundle(root)
    report = audit(machine)  # no option: the non-public roots of the OS store
    assert report.facts["selection"]["mode"] == "os-private"
    assert report.facts["root"]["subject"] == "O=Trust Test,CN=Acme Inspection Root"
    assert report.facts["root"]["sha256"] == __import__("hashlib").sha256(der(root)).hexdigest()
    rows = rows_by_id(report)
    assert rows["os-debian"]["trusts_root"] is True
    assert rows["openssl"]["trusts_root"] is True  # OpenSSL's cafile is the OS bundle
    assert rows["certifi"]["trusts_root"] is False
    assert rows["python-requests"]["trusts_root"] is False
    assert rows["java"]["present"] is False and rows["java"]["trusts_root"] is None
    failing = {store for code, _, store in codes_of(report) if code == codes.CLIENT_STORE_MISMATCH}
    assert failing == {"certifi", "python-requests"}
    fix = rows["python-requests"]["fix"]["steps"]
    assert any("REQUESTS_CA_BUNDLE" in step for step in fix)
    assert report.exit_code == 1


def test_nothing_private_in_os_store(machine):
    report = audit(machine)
    assert report.facts["root"] is None
    assert "no private" in report.facts["note"]
    assert report.findings == () and report.exit_code == 0
    assert all(row["trusts_root"] is None for row in report.facts["stores"])


def test_requests_ca_bundle_pointing_at_a_complete_bundle(machine, root):
    bundle = machine.write("bundles/corp.pem", pem(*public_roots(), root))
    machine.env["REQUESTS_CA_BUNDLE"] = str(bundle)
    rows = rows_by_id(audit(machine, root))
    req = rows["python-requests"]
    assert req["trusts_root"] is True and req["status"] == "trusted"
    assert req["overridden_by"] == ["$REQUESTS_CA_BUNDLE"]
    assert str(bundle) in req["location"]
    # REQUESTS_CA_BUNDLE is what certifi's requests-based consumers use now: the effective store
    assert rows["certifi"]["trusts_root"] is True
    assert rows["certifi"]["overridden_by"] == ["$REQUESTS_CA_BUNDLE"]
    assert rows["os-debian"]["fix"]["steps"][-1] == "sudo update-ca-certificates"


def test_root_only_override_is_flagged_incomplete(machine, root):
    machine.os_bundle(root)
    only = machine.write("bundles/root-only.pem", pem(root))
    machine.env["REQUESTS_CA_BUNDLE"] = str(only)
    report = audit(machine, root)
    req = rows_by_id(report)["python-requests"]
    assert req["trusts_root"] is True and req["status"] == "override-incomplete"
    assert ("client.store_mismatch", "warning", "python-requests") in codes_of(report)


@pytest.mark.skipif(not OPENSSL, reason="openssl is not installed")
def test_ssl_cert_dir_hashed_directory(machine, root):
    capath = machine.path("capath")
    capath.mkdir()
    (capath / "acme.pem").write_bytes(pem(root))
    machine.env["SSL_CERT_DIR"] = str(capath)
    row = rows_by_id(audit(machine, root))["openssl"]
    assert (row["trusts_root"], row["status"]) == (False, "present-untrusted")
    assert "openssl rehash" in row["detail"]
    assert row["overridden_by"] == ["$SSL_CERT_DIR"]
    subprocess.run([OPENSSL, "rehash", str(capath)], check=True, capture_output=True)
    row = rows_by_id(audit(machine, root))["openssl"]
    assert row["trusts_root"] is True


def test_missing_override_file_is_a_failure(machine, root):
    machine.os_bundle(root)
    machine.env["CURL_CA_BUNDLE"] = str(machine.path("nope/ca.pem"))
    machine.command("curl", "curl 8.5.0")
    report = audit(machine, root)
    curl = rows_by_id(report)["curl"]
    assert (curl["trusts_root"], curl["status"]) == (False, "file-missing")
    assert curl["overridden_by"] == ["$CURL_CA_BUNDLE"]


def test_java_homes_pkcs12_cacerts_and_trust_store_option(machine, root):
    jdk = machine.path("jdks/jdk-21")
    (jdk / "lib/security").mkdir(parents=True)
    pkcs12_truststore(jdk / "lib/security/cacerts", {"pub": public_roots()[0]}, None)
    machine.env["JAVA_HOME"] = str(jdk)
    distro = machine.path("/usr/lib/jvm/java-17-openjdk-amd64")
    (distro / "lib/security").mkdir(parents=True)
    pkcs12_truststore(distro / "lib/security/cacerts", {"acme": root}, b"changeit")
    report = audit(machine, root)
    java = {row["instance"]: row for row in report.facts["stores"] if row["id"] == "java"}
    assert set(java) == {str(jdk), str(distro)}
    assert java[str(distro)]["trusts_root"] is True
    mine = java[str(jdk)]
    assert mine["trusts_root"] is False
    assert f'-keystore "{jdk}/lib/security/cacerts" -storepass changeit' in mine["fix"]["steps"][0]
    assert "-alias acme-inspection-root" in mine["fix"]["steps"][0]
    # -Djavax.net.ssl.trustStore in JAVA_TOOL_OPTIONS replaces cacerts
    custom = pkcs12_truststore(machine.path("ts.p12"), {"acme": root}, b"changeit")
    machine.env["JAVA_TOOL_OPTIONS"] = f"-Xmx1g -Djavax.net.ssl.trustStore={custom}"
    report = audit(machine, root)
    java = {row["instance"]: row for row in report.facts["stores"] if row["id"] == "java"}
    assert java[str(jdk)]["trusts_root"] is True
    assert java[str(jdk)]["overridden_by"] == ["$JAVA_TOOL_OPTIONS -Djavax.net.ssl.trustStore"]


@pytest.mark.skipif(not KEYTOOL, reason="keytool (a JDK) is not installed")
def test_java_keytool_made_jks_cacerts(machine, root):
    jdk = machine.path("jdk8")
    (jdk / "jre/lib/security").mkdir(parents=True)
    machine.write("root.pem", pem(root))
    subprocess.run(
        [KEYTOOL, "-importcert", "-noprompt", "-alias", "acme",
         "-file", str(machine.path("root.pem")),
         "-keystore", str(jdk / "jre/lib/security/cacerts"),
         "-storetype", "JKS", "-storepass", "changeit"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    machine.env["JAVA_HOME"] = str(jdk)
    row = rows_by_id(audit(machine, root))["java"]
    assert row["instance"] == str(jdk) and row["trusts_root"] is True


def _profile(machine, name: str) -> Path:
    ini = machine.path("~/.mozilla/firefox/profiles.ini")
    existing = ini.read_text() if ini.exists() else ""
    n = existing.count("[Profile")
    machine.write(
        "~/.mozilla/firefox/profiles.ini",
        existing + f"[Profile{n}]\nName={name}\nIsRelative=1\nPath={name}.default\n",
    )
    directory: Path = machine.path(f"~/.mozilla/firefox/{name}.default")
    directory.mkdir(parents=True)
    return directory


@pytest.mark.skipif(not CERTUTIL, reason="certutil is not installed (apt: libnss3-tools)")
def test_firefox_profiles_with_real_nss_databases(machine, root):
    machine.os_bundle(root)
    machine.write("root.pem", pem(root))
    good = _profile(machine, "good")
    bad = _profile(machine, "bad")
    for profile in (good, bad):
        subprocess.run([CERTUTIL, "-N", "-d", f"sql:{profile}", "--empty-password"], check=True,
                       capture_output=True, timeout=30)  # fmt: skip
    subprocess.run(
        [CERTUTIL, "-A", "-d", f"sql:{good}", "-n", "Acme", "-t", "C,,", "-i",
         str(machine.path("root.pem"))],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    report = audit(machine, root)
    ff = {row["instance"]: row for row in report.facts["stores"] if row["id"] == "firefox"}
    assert ff[f"good ({good})"]["trusts_root"] is True
    bad_row = ff[f"bad ({bad})"]
    assert bad_row["trusts_root"] is False
    assert f"certutil -A -d sql:{bad}" in bad_row["fix"]["steps"][0]
    assert '-t "C,,"' in bad_row["fix"]["steps"][0]
    assert ("client.store_mismatch", "error", "firefox") in codes_of(report)


def test_firefox_policy_install_and_enterprise_roots_pref(machine, root):
    machine.os_bundle(root)
    profile = _profile(machine, "main")
    report = audit(machine, root)
    assert rows_by_id(report)["firefox"]["trusts_root"] is None  # no cert9.db, nothing known
    (profile / "prefs.js").write_text('user_pref("security.enterprise_roots.enabled", true);\n')
    row = rows_by_id(audit(machine, root))["firefox"]
    assert row["trusts_root"] is True and "enterprise roots" in row["location"]
    (profile / "prefs.js").unlink()
    policy_pem = machine.write("/etc/firefox/policies/acme.pem", pem(root))
    machine.write(
        "/etc/firefox/policies/policies.json",
        '{"policies": {"Certificates": {"Install": ["' + str(policy_pem) + '"]}}}',
    )
    row = rows_by_id(audit(machine, root))["firefox"]
    assert row["trusts_root"] is True and "Certificates.Install" in row["location"]


def test_git_npm_pip_curl_aws_gcloud_config_files(machine, root):
    machine.os_bundle(root)
    for tool, version in (("git", "git version 2.39.5"), ("npm", "10.2.0"), ("curl", "curl 8"),
                          ("pip", "pip 23.0.1 from /usr/lib/python3/dist-packages/pip"),
                          ("aws", "aws-cli/2.15"), ("gcloud", "Google Cloud SDK 460.0.0"),
                          ("node", "v20.11.0")):  # fmt: skip
        machine.command(tool, version)
    complete = machine.write("bundles/complete.pem", pem(*public_roots(), root))
    stale = machine.write("bundles/stale.pem", pem(*public_roots()))
    machine.write("~/.gitconfig", f"[user]\n\tname = t\n[http]\n\tsslCAInfo = {stale}\n")
    machine.write("~/.npmrc", f"registry=https://registry.npmjs.org/\ncafile={stale}\n")
    machine.write("~/.config/pip/pip.conf", f"[global]\ncert = {complete}\n")
    machine.write("~/.curlrc", f"cacert = {complete}\n")
    machine.write("~/.aws/config", f"[default]\nregion = x\n[profile dev]\nca_bundle = {stale}\n")
    machine.env["AWS_PROFILE"] = "dev"
    machine.write("~/.config/gcloud/active_config", "work\n")
    machine.write("~/.config/gcloud/configurations/config_work",
                  f"[core]\ncustom_ca_certs_file = {complete}\n")  # fmt: skip
    report = audit(machine, root)
    rows = rows_by_id(report)
    assert rows["git"]["trusts_root"] is False
    assert rows["git"]["overridden_by"] == [f"{machine.path('~/.gitconfig')} http.sslcainfo"]
    gitconfig = machine.path("~/.gitconfig")
    assert rows["git"]["fix"]["steps"][0] == (
        f'cat {machine.path("root.pem")} >> "{stale}"   '
        f"# {gitconfig} http.sslcainfo points here; keep it a complete bundle"
    )
    assert rows["npm"]["trusts_root"] is False and str(stale) in rows["npm"]["location"]
    assert rows["pip"]["trusts_root"] is True
    assert rows["curl"]["trusts_root"] is True
    assert rows["aws-cli"]["trusts_root"] is False
    assert "ca_bundle" in rows["aws-cli"]["overridden_by"][0]
    assert rows["gcloud"]["trusts_root"] is True
    assert "config_work" in rows["gcloud"]["location"]
    assert rows["node"]["trusts_root"] is False  # built-in list only
    failing = {s for c, _, s in codes_of(report) if c == codes.CLIENT_STORE_MISMATCH}
    assert {"git", "npm", "aws-cli", "node"} <= failing
    assert "pip" not in failing and "curl" not in failing


def test_pip_24_2_uses_the_os_store_and_node_system_ca(machine, root):
    machine.os_bundle(root)
    machine.command("pip", "pip 24.3.1 from /x/site-packages/pip (python 3.12)")
    machine.command("node", "v24.6.0")
    report = audit(machine, root)
    rows = rows_by_id(report)
    assert rows["pip"]["trusts_root"] is True
    assert "os-debian" in rows["pip"]["location"]
    assert rows["node"]["trusts_root"] is False
    assert "NODE_EXTRA_CA_CERTS" in rows["node"]["fix"]["steps"][0]
    machine.env["NODE_USE_SYSTEM_CA"] = "1"
    node = rows_by_id(audit(machine, root))["node"]
    assert node["trusts_root"] is True and "os-debian" in node["location"]


def test_conda_truststore_and_disabled_verification(machine, root):
    machine.os_bundle(root)
    machine.write("~/.condarc", "channels:\n  - defaults\nssl_verify: truststore\n")
    row = rows_by_id(audit(machine, root))["conda"]
    assert row["present"] is True and row["trusts_root"] is True
    machine.env["CONDA_SSL_VERIFY"] = "false"
    row = rows_by_id(audit(machine, root))["conda"]
    assert (row["trusts_root"], row["status"]) == (None, "verification-disabled")


def test_debian_anchor_waiting_and_wrong_suffix(machine, root):
    machine.write("/usr/local/share/ca-certificates/acme.crt", pem(root))
    machine.write("/usr/local/share/ca-certificates/other.pem", pem(ca("Other Root")))
    report = audit(machine)  # the default selection also looks at the anchor directory
    assert report.facts["root"]["common_name"] == "Acme Inspection Root"
    row = rows_by_id(report)["os-debian"]
    assert (row["trusts_root"], row["status"]) == (False, "anchor-not-applied")
    assert row["fix"]["steps"] == ["sudo update-ca-certificates"]
    assert any("other.pem is ignored" in note for note in row["notes"])


def test_docker_certs_d_applies_to_one_registry(machine, root):
    machine.write("/etc/docker/certs.d/registry.corp:5000/ca.crt", pem(root))
    row = rows_by_id(audit(machine, root))["docker"]
    assert row["present"] is True
    assert row["trusts_root"] is False  # the daemon's OS store lacks it
    assert any("registry.corp:5000" in note for note in row["notes"])


def test_rhel_layout(tmp_path, root):
    machine = make_machine(tmp_path, distro="rhel")
    machine.write("/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", pem(*public_roots()))
    rows = rows_by_id(audit(machine, root))
    assert rows["os-debian"]["present"] is False
    assert rows["os-rhel"]["present"] is True and rows["os-rhel"]["trusts_root"] is False
    assert rows["os-rhel"]["fix"]["steps"][-1] == "sudo update-ca-trust extract"


def test_macos_machine_from_recorded_security_output(machine, root):
    untrusted = ca("Half Installed Root")
    listing = pem(root, untrusted)
    sha1 = __import__("hashlib").sha1(der(root)).hexdigest().upper()
    plist = (
        '<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict><key>trustList</key>'
        f"<dict><key>{sha1}</key><dict><key>trustSettings</key><array/></dict></dict>"
        "</dict></plist>"
    )

    def run(argv):
        if argv[:2] == ["security", "find-certificate"]:
            if argv[-1] == "/Library/Keychains/System.keychain":
                return CommandResult(0, listing)
            return CommandResult(0, b"")
        if argv[:2] == ["security", "trust-settings-export"]:
            if "-d" in argv:
                Path(argv[-1]).write_text(plist)
                return CommandResult(0)
            return CommandResult(1)
        return None

    machine.command("docker", "Docker version 27.0.3")
    report = audit(machine, root, ctx={"platform": "macos", "run": run})
    rows = rows_by_id(report)
    assert rows["os-debian"]["present"] is False  # Linux stores do not apply on macOS
    assert rows["os-macos-system"]["trusts_root"] is True
    assert rows["os-macos-login"]["trusts_root"] is False
    assert rows["docker"]["trusts_root"] is True  # Docker Desktop uses the keychain
    report = audit(machine, untrusted, ctx={"platform": "macos", "run": run})
    row = rows_by_id(report)["os-macos-system"]
    assert (row["trusts_root"], row["status"]) == (False, "present-untrusted")
    assert "add-trusted-cert -d -r trustRoot" in row["fix"]["steps"][0]


def test_windows_machine_from_recorded_enumeration(machine, root):
    thumb = __import__("hashlib").sha1(der(root)).hexdigest().upper()
    entries = [(der(public_roots()[0]), "x509_asn", True), (der(root), "x509_asn", True)]
    machine.command("go", "go version go1.23.0 windows/amd64")
    keys = {
        "HKCU\\Software\\Microsoft\\SystemCertificates\\Root\\Certificates\\" + thumb,
    }
    report = audit(
        machine, root,
        ctx={"platform": "windows", "windows_enum": lambda s: entries if s == "ROOT" else [],
             "registry_has": keys.__contains__},
    )  # fmt: skip
    rows = rows_by_id(report)
    assert rows["os-windows-user"]["trusts_root"] is True
    assert rows["os-windows-machine"]["trusts_root"] is False
    assert "certutil -addstore -f Root" in rows["os-windows-machine"]["fix"]["steps"][0]
    assert rows["go"]["trusts_root"] is True  # Go uses the platform verifier on Windows
    assert rows["openssl"]["present"] is False  # no OpenSSL default paths row on Windows


def test_fingerprint_and_name_selection(machine, root):
    machine.os_bundle(root, ca("Zscaler Root CA"))
    fp = __import__("hashlib").sha256(der(root)).hexdigest()
    report = audit(machine, fingerprint=":".join(fp[i : i + 2] for i in range(0, 64, 2)))
    assert report.facts["root"]["sha256"] == fp
    report = audit(machine, name="zscaler")
    assert report.facts["root"]["common_name"] == "Zscaler Root CA"
    with pytest.raises(InputError, match=r"no certificate matches.*pass --ca FILE"):
        audit(machine, fingerprint="ab" * 32)
    with pytest.raises(InputError, match="no certificate matches"):
        audit(machine, name="nonexistent-root")


def test_every_private_root_gets_its_own_report(machine, root):
    machine.os_bundle(root, ca("Second Private Root"))
    reports = run_trust(machine.context(), TrustOptions(now=NOW))
    assert sorted(r.facts["root"]["common_name"] for r in reports) == [
        "Acme Inspection Root",
        "Second Private Root",
    ]


def test_pip_cert_adds_on_new_pip_and_replaces_on_old_pip(machine, root):
    only = machine.write("bundles/root-only.pem", pem(root))
    machine.env["PIP_CERT"] = str(only)
    machine.command("pip", "pip 24.3.1 from /x/site-packages/pip (python 3.12)")
    new = rows_by_id(audit(machine, root))["pip"]
    assert (new["trusts_root"], new["status"]) == (True, "trusted")  # truststore + the file
    assert new["overridden_by"] == ["$PIP_CERT"]
    assert "os-debian" in new["location"]
    machine.command("pip", "pip 23.0.1 from /usr/lib/python3/dist-packages/pip (python 3.11)")
    old = rows_by_id(audit(machine, root))["pip"]
    assert (old["trusts_root"], old["status"]) == (True, "override-incomplete")
    assert "os-debian" not in old["location"]


def test_fix_commands_use_the_roots_own_file_when_there_is_one(machine, root):
    machine.os_bundle(root)
    anchor = machine.write("/usr/local/share/ca-certificates/corp.crt", pem(root))
    report = audit(machine)
    steps = rows_by_id(report)["certifi"]["fix"]["steps"]
    assert f'cat "$(python3 -m certifi)" {anchor} > ~/.config/tlsdiag/ca-bundle.pem' in steps


def test_distribution_roots_dropped_by_certifi_are_not_taken_for_inspection_roots(machine, root):
    legacy = ca("Legacy Public Root", org="Old CA")  # still in the distro bundle, not certifi
    machine.write("/usr/share/ca-certificates/mozilla/Legacy_Public_Root.crt", pem(legacy))
    machine.os_bundle(legacy, root)
    reports = run_trust(machine.context(), TrustOptions(now=NOW))
    assert [r.facts["root"]["common_name"] for r in reports] == ["Acme Inspection Root"]
