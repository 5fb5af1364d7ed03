"""``compare --run``: an application run bypassed and through the embedded proxy, judged.

Pure: takes both runs' outcomes, the codes ``explain`` found in the inspected run's error output
and what the proxy logged, and returns the same ``Verdict`` as the host comparison. The inspected
run is told to trust the proxy's root the way a managed machine does (its OS-store variables);
an application that still fails with an unknown-CA error reads its own store
(``client.store_mismatch``) or pins (``app.certificate_pinning``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tlsdiag import codes
from tlsdiag.core.compare import Verdict, bypass_rule
from tlsdiag.facts.compare import AppStoreFacts, RunOutcomeFacts

UNKNOWN_CA = frozenset(
    {
        codes.CLIENT_ROOT_NOT_TRUSTED,
        codes.CLIENT_STORE_MISMATCH,
        codes.SERVER_UNTRUSTED_ROOT,
        codes.SERVER_SELF_SIGNED,
        codes.SERVER_CHAIN_INCOMPLETE,
        codes.APP_CERTIFICATE_PINNING,
    }
)
# the trust-store catalogue entry (data/trust_stores.toml) an executable reads by default
STORE_OF = {
    "curl": "curl",
    "git": "git",
    "pip": "pip",
    "pip3": "pip",
    "python": "certifi",
    "python3": "certifi",
    "node": "node",
    "npm": "npm",
    "yarn": "yarn",
    "java": "java",
    "mvn": "java",
    "gradle": "java",
    "conda": "conda",
    "aws": "aws-cli",
    "az": "azure-cli",
    "gcloud": "gcloud",
    "docker": "docker",
    "kubectl": "go",
    "terraform": "go",
    "gh": "go",
}


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """One run of the user's command."""

    exit_status: int | None  # None: it did not finish in time (or could not start)
    stderr: str
    seconds: float
    timed_out: bool = False
    error: str = ""  # could not start it

    @property
    def ok(self) -> bool:
        """It finished with status 0."""
        return self.exit_status == 0

    def describe(self) -> str:
        """``exit 0``, ``exit 60``, ``timed out after 30s`` ..."""
        if self.error:
            return f"did not start: {self.error}"
        if self.timed_out:
            return f"timed out after {self.seconds:.0f}s"
        return f"exit {self.exit_status}"

    def to_dict(self) -> RunOutcomeFacts:
        """JSON-ready form (the last 2,000 characters of stderr)."""
        return {
            "exit_status": self.exit_status,
            "timed_out": self.timed_out,
            "seconds": round(self.seconds, 3),
            "error": self.error,
            "stderr": self.stderr[-2000:],
        }


def last_line(text: str) -> str:
    """The last non-empty line (the error, usually), at most 200 characters."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:200] if lines else ""


def run_verdict(
    bypassed: RunOutcome,
    inspected: RunOutcome,
    *,
    explained: Sequence[str],
    proxy_findings: Sequence[str],
    hosts: Sequence[tuple[str, int]],
    app: str,
    store_fix: AppStoreFacts | None,
) -> Verdict:
    """The verdict of an application A/B.

    Args:
        bypassed: the run without a proxy.
        inspected: the run through the embedded proxy.
        explained: the codes ``explain`` ranks for the inspected run's error output, best first.
        proxy_findings: the finding codes of the proxy's events for this run.
        hosts: the hosts and ports the application connected to through the proxy.
        app: the executable's name.
        store_fix: the application's store in the trust catalogue (``name``, ``steps``), if
            known.

    Returns:
        The verdict.
    """
    if bypassed.ok and inspected.ok:
        return Verdict("none", "The command works bypassed and inspected.", "Nothing to fix.")
    if not bypassed.ok:
        both = "and inspected" if not inspected.ok else "(but works inspected)"
        return Verdict(
            "server",
            f"The command fails bypassed {both} ({bypassed.describe()}: "
            f"{last_line(bypassed.stderr) or 'no error output'}): the problem is not inspection.",
            "Run `tlsdiag explain` on its error output and `tlsdiag check HOST` on the host it "
            "uses.",
            explained[0] if explained else "",
        )
    rules = "\n\n".join(
        bypass_rule(h, p, f"{app}: fails inspected") for h, p in hosts[:3]
    ) or bypass_rule("HOST", 443, f"{app}: fails inspected")
    said = f"{inspected.describe()}: {last_line(inspected.stderr) or 'no error output'}"
    unknown_ca = [c for c in (*explained, *proxy_findings) if c in UNKNOWN_CA]
    if codes.APP_CERTIFICATE_PINNING in explained[:1] or (
        unknown_ca and codes.APP_CERTIFICATE_PINNING in proxy_findings
    ):
        return Verdict(
            "inspection",
            f"Works bypassed, fails inspected ({said}) although the inspection root is in the "
            f"store this machine gives applications: {app} pins the server's certificate or key "
            "and rejects the re-signed one.",
            "Inspection cannot apply to a pinning application: a targeted bypass rule for the "
            "exact host(s) it uses:\n" + rules,
            codes.APP_CERTIFICATE_PINNING,
            rules,
        )
    if unknown_ca:
        store = (store_fix["name"] if store_fix else "") or f"{app}'s own store"
        steps = list(store_fix["steps"] if store_fix else ())
        fix = (
            f"Add the inspection root to {store}:\n  " + "\n  ".join(steps)
            if steps
            else f"Add the inspection root to {store} (`tlsdiag trust` prints the command)."
        )
        return Verdict(
            "client",
            f"Works bypassed, fails inspected with an unknown-CA error ({said}) while the "
            f"inspection root is in the store this machine gives applications: {app} reads its "
            "own store (or pins: then only a bypass rule helps, app.certificate_pinning).",
            fix,
            codes.CLIENT_STORE_MISMATCH,
        )
    code = explained[0] if explained else codes.POLICY_BLOCKED
    return Verdict(
        "inspection",
        f"Works bypassed, fails inspected ({said}).",
        "Read the proxy's event for the host; if the host is legitimate, a targeted bypass "
        "rule:\n" + rules,
        code,
        rules,
    )
