"""The store catalogue ``data/trust_stores.toml``: valid, complete, cited."""

from __future__ import annotations

import re

import pytest

from tlsdiag.kb._load import load_toml
from tlsdiag.kb.trust import parse_store, store_by_id, trust_stores

# The stores the issue asks for, by catalogue id.
REQUIRED = {
    "os-debian", "os-rhel", "os-macos-system", "os-macos-login", "os-windows-machine",
    "os-windows-user", "certifi", "python-requests", "pip", "curl", "git", "node", "npm",
    "yarn", "java", "firefox", "chrome-nss", "conda", "aws-cli", "azure-cli", "gcloud",
    "docker", "go", "openssl",
}  # fmt: skip


def test_loads_with_unique_ids_and_covers_the_required_stores():
    stores = trust_stores()
    ids = [s.id for s in stores]
    assert len(ids) == len(set(ids))
    assert set(ids) >= REQUIRED
    for store in stores:
        assert re.fullmatch(r"[a-z0-9-]+", store.id), store.id
        assert store.fixes, f"{store.id}: no fix"
        assert store.locate, f"{store.id}: nowhere to look"
        assert store.sources and all(u.startswith("https://") for u in store.sources), store.id
        assert store.consumers, f"{store.id}: no consumer listed"


def test_every_platform_has_os_stores_and_a_fix_for_each_store():
    stores = trust_stores()
    for platform in ("linux", "macos", "windows"):
        assert any(s.provides_os and platform in s.platforms for s in stores), platform
        for store in stores:
            if platform not in store.platforms:
                continue
            assert any(not f.platforms or platform in f.platforms for f in store.fixes), (
                f"{store.id} has no fix on {platform}"
            )


def test_the_documented_overrides_are_there():
    env_names = {loc.name for store in trust_stores() for loc in store.locate if loc.kind == "env"}
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR",
                 "PIP_CERT", "NODE_EXTRA_CA_CERTS", "AWS_CA_BUNDLE", "GIT_SSL_CAINFO",
                 "CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE", "CONDA_SSL_VERIFY"):  # fmt: skip
        assert name in env_names, name
    keys = {loc.key for store in trust_stores() for loc in store.locate if loc.kind == "config"}
    for key in ("cert", "cacert", "http.sslcainfo", "cafile", "ca_bundle", "ssl_verify",
                "custom_ca_certs_file", "httpsCaFilePath"):  # fmt: skip
        assert key in keys, key
    java = store_by_id("java")
    assert any(loc.reader == "java-keystore" for loc in java.locate)
    assert any("changeit" in step for fix in java.fixes for step in fix.steps)
    assert any(loc.reader == "nss-sqlite" for loc in store_by_id("firefox").locate)


def test_replacing_overrides_are_flagged():
    for store_id, name in (("python-requests", "REQUESTS_CA_BUNDLE"), ("curl", "CURL_CA_BUNDLE"),
                           ("aws-cli", "AWS_CA_BUNDLE")):  # fmt: skip
        loc = next(loc for loc in store_by_id(store_id).locate if loc.name == name)
        assert loc.replaces_default
    node = next(loc for loc in store_by_id("node").locate if loc.name == "NODE_EXTRA_CA_CERTS")
    assert node.extends and not node.replaces_default


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"colour": "red"}, "unknown keys"),
        ({"kind": "spaceship"}, "unknown kind"),
        ({"platforms": ["beos"]}, "unknown platform"),
        ({"locate": [{"kind": "telepathy"}]}, "unknown locator kind"),
        ({"locate": [{"kind": "path", "reader": "xml"}]}, "unknown reader"),
        ({"locate": [{"kind": "config", "syntax": "yaml-ish"}]}, "unknown config syntax"),
        ({"fix": [{"steps": ["x"], "run_it": True}]}, "unknown keys"),
        ({"default_source": "magic"}, "unknown default_source"),
    ],
)
def test_unknown_keys_and_values_are_rejected(patch, message):
    raw = dict(load_toml("trust_stores.toml")["store"][0])
    raw.update(patch)
    with pytest.raises(ValueError, match=message):
        parse_store(raw)
