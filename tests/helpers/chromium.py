"""Headless Chromium for the tests, with every switch that makes it talk to the network on its
own turned off (component and variations updates, sign-in, sync, safe browsing, domain
reliability, metrics, pings, translation, network-time queries, the media router ...).

Every run goes through a proxy: the test's own, or by default a dead one on 127.0.0.1:9, so a
page that asks for anything outside the machine gets nothing.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
DEAD_PROXY = "http://127.0.0.1:9"
QUIET_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-breakpad",
    "--disable-crash-reporter",
    "--disable-field-trial-config",
    "--disable-search-engine-choice-screen",
    "--no-default-browser-check",
    "--no-pings",
    "--metrics-recording-only",
    "--safebrowsing-disable-auto-update",
    "--allow-browser-signin=false",
    "--variations-server-url=http://127.0.0.1:9/",
    "--disable-features=OptimizationHints,MediaRouter,DialMediaRouteProvider,Translate,"
    "AutofillServerCommunication,CertificateTransparencyComponentUpdater,"
    "NetworkTimeServiceQuerying,InterestFeedContentSuggestions,SafeBrowsingEnhancedProtection,"
    "SignInProfileCreation,ChromeWhatsNewUI,PrivacySandboxSettings4",
)


def installed() -> bool:
    """Whether the distribution's Chromium is there."""
    return os.path.exists(CHROMIUM)


def run_chromium(
    home: Path, *args: str, proxy: str = DEAD_PROXY, profile: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium with ``args`` (``--dump-dom URL``, ``--screenshot=...``), HOME at
    ``home`` (where an NSS database may sit) and a fresh profile unless one is given."""
    cmd = [
        CHROMIUM,
        *QUIET_FLAGS,
        f"--proxy-server={proxy}",
        f"--user-data-dir={profile or home / 'profile'}",
        *args,
    ]
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["HOME"] = str(home)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=90, env=env)
