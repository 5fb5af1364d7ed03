"""``compare --run 'COMMAND'``: the user's command once bypassed, once through the embedded proxy.

Both runs are time-bounded and run concurrently. The bypassed run gets the environment without
proxy variables; the inspected one gets ``HTTPS_PROXY``/``HTTP_PROXY`` pointed at the embedded
proxy and, like a managed machine whose OS store holds the inspection root, ``SSL_CERT_FILE``,
``CURL_CA_BUNDLE``, ``REQUESTS_CA_BUNDLE``, ``NODE_EXTRA_CA_CERTS`` and ``GIT_SSL_CAINFO``
pointed at the OS bundle plus ``--cafile`` plus the proxy's root. The inspected run's error output
goes through ``explain``.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from tlsdiag import __version__
from tlsdiag.commands.check import CheckOptions
from tlsdiag.commands.compare_path import embedded_proxy
from tlsdiag.core.compare_run import STORE_OF, RunOutcome, run_verdict
from tlsdiag.core.findings import make_finding
from tlsdiag.errors import UsageError
from tlsdiag.facts.compare import AppStoreFacts, CompareRunFacts
from tlsdiag.model import Finding, Report, Severity
from tlsdiag.proxy.policy import Policy, default_policy

PROXY_VARS = ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY")
NO_PROXY_VARS = ("no_proxy", "NO_PROXY")
TRUST_VARS = (
    "SSL_CERT_FILE",
    "CURL_CA_BUNDLE",
    "REQUESTS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "GIT_SSL_CAINFO",
)
_OWN_STORE = re.compile(r"(--cacert|--cafile|--ca-certificate|--capath|--cert)\b")


def _run(argv: list[str], env: Mapping[str, str], timeout: float) -> RunOutcome:
    start = time.monotonic()
    try:
        done = subprocess.run(
            argv,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr.decode("utf-8", "replace") if isinstance(exc.stderr, bytes) else ""
        return RunOutcome(None, err, time.monotonic() - start, timed_out=True)
    except OSError as exc:
        return RunOutcome(None, "", time.monotonic() - start, error=exc.strerror or str(exc))
    stderr = done.stderr.decode("utf-8", "replace")
    return RunOutcome(done.returncode, stderr, time.monotonic() - start)


def _store_fix(app: str) -> AppStoreFacts | None:
    from tlsdiag.kb.trust import store_by_id

    sid = STORE_OF.get(app)
    if sid is None:
        return None
    try:
        store = store_by_id(sid)
    except KeyError:
        return None
    steps = [
        s.replace("${ROOT_PEM}", "ROOT.pem").replace("${BUNDLE_PEM}", "BUNDLE.pem")
        for fix in store.fixes
        for s in (*fix.steps, *((fix.note,) if fix.note else ()))
        if not s.startswith("@") and "${STORE_PATH}" not in s
    ]
    return {"id": store.id, "name": store.name, "steps": steps[:4]}


def run_app_compare(
    command: str,
    opts: CheckOptions,
    *,
    cafile_paths: Sequence[Path],
    policy: Policy | None,
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> Report:
    """Run ``command`` bypassed and inspected and judge the difference."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise UsageError(f"--run {command!r}: {exc}") from exc
    if not argv:
        raise UsageError("--run: empty command")
    from tlsdiag.core.explain.engine import explain
    from tlsdiag.stores.bundles import os_bundle_path

    base = {k: v for k, v in (os.environ if env is None else env).items() if k not in PROXY_VARS}
    now = opts.now or datetime.now(UTC)
    with embedded_proxy(
        policy=policy or default_policy(),
        now=now,
        cafiles=cafile_paths,
        resolve=opts.probe.resolve,
        timeout=opts.probe.timeout,
    ) as path:
        bundle = path.ca_file.with_name("machine-bundle.pem")
        parts = [Path(p).read_bytes() for p in (os_bundle_path(), *cafile_paths) if p]
        bundle.write_bytes(b"\n".join([*parts, path.ca_file.read_bytes()]))
        inspected_env = {k: v for k, v in base.items() if k not in NO_PROXY_VARS}
        for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
            inspected_env[name] = path.route.url
        for name in TRUST_VARS:
            inspected_env[name] = str(bundle)
        with ThreadPoolExecutor(max_workers=2) as pool:
            fb = pool.submit(_run, argv, base, timeout)
            fi = pool.submit(_run, argv, inspected_env, timeout)
            bypassed, inspected = fb.result(), fi.result()
        time.sleep(0.05)  # the proxy writes a connection's event when it closes
        events = path.snapshot()
        policy_facts = path.policy_facts()
    app = Path(argv[0]).name.lower()
    app = re.sub(r"\.exe$", "", app)
    explanation = explain(inspected.stderr) if inspected.stderr.strip() else None
    explained = [c.code for c in explanation.causes] if explanation else []
    hosts = list(dict.fromkeys((ev.sni or ev.host, ev.port) for ev in events if ev.host))
    proxy_findings = [ev.finding for ev in events if ev.finding]
    store = _store_fix(app)
    verdict = run_verdict(
        bypassed,
        inspected,
        explained=explained,
        proxy_findings=proxy_findings,
        hosts=hosts,
        app=app,
        store_fix=store,
    )
    own = _OWN_STORE.search(command)
    summary = verdict.summary
    if own and verdict.code == "client.store_mismatch":
        summary += f" The command names its own trust file ({own.group(1)}): it is the store."
    facts: CompareRunFacts = {
        "run": {"command": command, "timeout_s": timeout, "app": app, "app_store": store},
        "inspecting_path": {
            "kind": "embedded",
            "description": f"{path.route.describe()}: the embedded proxy",
            "policy": policy_facts,
            "events": [ev.to_dict() for ev in events],
        },
        "bypassed": bypassed.to_dict(),
        "inspected": inspected.to_dict(),
        "explain": explanation.to_facts() if explanation else None,
        "verdict": {**verdict.to_dict(), "summary": summary},
    }
    findings: tuple[Finding, ...] = ()
    if verdict.origin != "none" and verdict.code:
        findings = (
            make_finding(
                verdict.code,
                severity=Severity.ERROR,
                detail=summary,
                evidence={
                    "bypassed": bypassed.describe(),
                    "inspected": inspected.describe(),
                    "origin": verdict.origin,
                },
                remediation=verdict.recommendation,
            ),
        )
    return Report(
        command="compare",
        target=command,
        generated_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        facts=facts,
        findings=findings,
        tool_version=__version__,
    )
