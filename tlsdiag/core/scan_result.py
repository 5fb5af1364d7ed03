"""What a TLS scan found: per protocol version, the accepted suites, order and groups."""

from __future__ import annotations

from dataclasses import dataclass

from tlsdiag.facts.scan import ScanResultFacts
from tlsdiag.model import ProbeFailure

#: How versions are shown to people ("TLS 1.0"); reports use the keys ("TLSv1.0").
VERSION_LABELS = {
    "SSLv3": "SSL 3.0",
    "TLSv1.0": "TLS 1.0",
    "TLSv1.1": "TLS 1.1",
    "TLSv1.2": "TLS 1.2",
    "TLSv1.3": "TLS 1.3",
}


@dataclass(frozen=True, slots=True)
class VersionScan:
    """One protocol version: accepted or not, and with what."""

    version: str  # "SSLv3", "TLSv1.0" ... "TLSv1.3"
    accepted: bool
    suites: tuple[str, ...] = ()  # IANA names in the server's order (client order if not enforced)
    server_order: bool | None = None  # None: fewer than two suites, or not checked
    groups: tuple[str, ...] = ()  # key-exchange groups accepted with this version
    groups_checked: bool = False
    answer: str = ""  # what the server said to the version probe: "ServerHello", "alert ..."


@dataclass(frozen=True, slots=True)
class ScanResult:
    """A whole scan of one endpoint."""

    target: str  # host:port as shown
    address: str
    sni: str
    versions: tuple[VersionScan, ...] = ()
    failure: ProbeFailure | None = None  # set when no probe got a TLS answer
    probes: int = 0  # ClientHellos sent
    seconds: float = 0.0
    full: bool = True  # False for the short form (versions and suites only)

    @property
    def accepted(self) -> tuple[str, ...]:
        """Accepted versions, lowest first."""
        return tuple(v.version for v in self.versions if v.accepted)

    def suites_for(self, version: str) -> tuple[str, ...]:
        """Accepted suites for ``version`` (empty when the version is not accepted)."""
        return next((v.suites for v in self.versions if v.version == version), ())

    def to_dict(self) -> ScanResultFacts:
        """The ``scan`` fact: ``versions``, ``ciphers`` (IANA names in preference order) ..."""
        return {
            "versions": list(self.accepted),
            "ciphers": {v.version: list(v.suites) for v in self.versions if v.accepted},
            "server_order": {
                v.version: v.server_order for v in self.versions if v.server_order is not None
            },
            "groups": {v.version: list(v.groups) for v in self.versions if v.groups_checked},
            "answers": {v.version: v.answer for v in self.versions},
            "address": self.address,
            "sni": self.sni,
            "probes": self.probes,
            "seconds": round(self.seconds, 3),
            "failure": None
            if self.failure is None
            else {
                "code": self.failure.code,
                "message": self.failure.message,
                "detail": self.failure.detail,
            },
        }


def version_list(versions: tuple[str, ...] | list[str], conj: str = "and") -> str:
    """``TLS 1.0 and TLS 1.1`` / ``SSL 3.0, TLS 1.0 and TLS 1.1`` for people."""
    labels = [VERSION_LABELS.get(v, v) for v in versions]
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + f" {conj} " + labels[-1]
