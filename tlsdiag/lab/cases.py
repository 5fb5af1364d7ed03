"""The lab: one broken (or good) server per diagnosis, all on 127.0.0.1, generated at start."""

from __future__ import annotations

import shlex
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tlsdiag import codes
from tlsdiag.core.certbuild import Issued, resign_sha1
from tlsdiag.lab.keys import LabKeys
from tlsdiag.lab.pki import make_ca, make_leaf
from tlsdiag.lab.pki_http import PkiHttpServer
from tlsdiag.lab.servers import Acceptor, LabServer, TlsSettings, tls_context

DOMAIN = "lab.test"
ROOT_FILE = "lab-root.pem"
LAB_ORG = "Example Lab PKI"  # deliberately not a name tlsdiag's vendor patterns match


@dataclass(frozen=True, slots=True)
class CaseSpec:
    """What a lab case is and which finding codes ``check`` must report for it."""

    name: str
    description: str
    expect: tuple[str, ...]  # error-level codes check must report (empty: no error)
    host_prefix: str = ""  # the name to check, when not "<name>.lab.test"

    @property
    def host(self) -> str:
        """The host name to check."""
        return f"{self.host_prefix or self.name}.{DOMAIN}"


CASES: tuple[CaseSpec, ...] = (
    CaseSpec("good", "a valid chain, leaf + intermediate", ()),
    CaseSpec("expired", "the leaf expired 10 days ago", (codes.SERVER_CERT_EXPIRED,)),
    CaseSpec(
        "not-yet-valid", "the leaf is valid only from next week", (codes.SERVER_CERT_NOT_YET_VALID,)
    ),
    CaseSpec(
        "wrong-host", "the certificate is for another name", (codes.SERVER_HOSTNAME_MISMATCH,)
    ),
    CaseSpec(
        "wildcard",
        "*.wildcard.lab.test asked for a name two labels deep",
        (codes.SERVER_HOSTNAME_MISMATCH,),
        host_prefix="a.b.wildcard",
    ),
    CaseSpec(
        "cn-only",
        "the name is only in the Common Name, no subjectAltName",
        (codes.SERVER_HOSTNAME_MISMATCH,),
    ),
    CaseSpec("self-signed", "the leaf is self-signed", (codes.SERVER_SELF_SIGNED,)),
    CaseSpec(
        "untrusted-root", "the chain ends at a root no store trusts", (codes.SERVER_UNTRUSTED_ROOT,)
    ),
    CaseSpec(
        "incomplete-chain",
        "only the leaf is sent; AIA points at the intermediate",
        (codes.SERVER_CHAIN_INCOMPLETE,),
    ),
    CaseSpec(
        "incomplete-no-aia",
        "only the leaf is sent and it has no AIA URL",
        (codes.SERVER_CHAIN_INCOMPLETE,),
    ),
    CaseSpec("sha1", "the leaf is signed with SHA-1", (codes.SERVER_WEAK_SIGNATURE,)),
    CaseSpec("rsa1024", "the leaf has a 1024-bit RSA key", (codes.SERVER_WEAK_KEY,)),
    CaseSpec("tls10", "the server speaks only TLS 1.0", (codes.LEGACY_PROTOCOL_VERSION,)),
    CaseSpec(
        "client-cert",
        "the server requires a client certificate (mutual TLS)",
        (codes.APP_MUTUAL_TLS,),
    ),
    CaseSpec("revoked", "the OCSP responder says the leaf is revoked", (codes.SERVER_REVOKED,)),
    CaseSpec(
        "pq-middlebox",
        "a middlebox resets ClientHellos longer than one TCP segment (post-quantum browsers')",
        (codes.NETWORK_RESET,),
    ),
    CaseSpec("not-tls", "a plain HTTP server on the port", (codes.NETWORK_NOT_TLS,)),
    CaseSpec("reset", "the server resets the connection", (codes.NETWORK_RESET,)),
)
CASE_NAMES = tuple(c.name for c in CASES)


@dataclass
class RunningCase:
    """A lab case with its server running."""

    spec: CaseSpec
    port: int
    server: LabServer

    @property
    def target(self) -> str:
        """``host:port`` to check."""
        return f"{self.spec.host}:{self.port}"

    @property
    def resolve(self) -> str:
        """The ``--resolve`` value for this case."""
        return f"{self.spec.host}:{self.port}:127.0.0.1"


@dataclass(frozen=True, slots=True)
class _LabPki:
    """What every case is built from: the time, the lab CAs, the PKI URLs, the RSA keys."""

    now: datetime
    root: Issued
    inter: Issued
    issuer_url: str
    ocsp_url: str
    revoked_serial: int
    keys: LabKeys


@dataclass
class Lab:
    """Start with ``with Lab() as lab:``; ``lab.cases[name]`` gives ports and commands."""

    names: Sequence[str] = CASE_NAMES
    directory: Path | None = None
    keys: LabKeys | None = None  # RSA keys begun early (demo); made at start when None
    cases: dict[str, RunningCase] = field(default_factory=dict)
    root_pem_path: Path = field(default=Path())
    _tmp: tempfile.TemporaryDirectory[str] | None = None
    _http: PkiHttpServer | None = None
    _acceptor: Acceptor | None = None  # one accepting thread for all the servers

    def __enter__(self) -> Lab:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def command(self, name: str) -> str:
        """The exact ``tlsdiag check`` command for a case."""
        case = self.cases[name]
        return (
            f"tlsdiag check {case.target} --resolve {case.resolve} "
            f"--cafile {shlex.quote(str(self.root_pem_path))}"
        )

    def start(self, on_case: Callable[[RunningCase], None] | None = None) -> None:
        """Generate the PKI, write the lab root, start every server.

        Args:
            on_case: called with each case as soon as its server accepts (the lab root file and
                the OCSP responder are ready by then), so a caller can check the first cases
                while the others are still being built.
        """
        unknown = [n for n in self.names if n not in CASE_NAMES]
        if unknown:
            raise ValueError(f"unknown lab case(s): {', '.join(unknown)}")
        keys = self.keys or LabKeys(self.names)  # RSA keys: on another core meanwhile
        self._acceptor = Acceptor()
        if self.directory is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="tlsdiag-lab-")
            self.directory = Path(self._tmp.name)
        self.directory.mkdir(exist_ok=True)  # only the last folder: never a whole tree
        now = datetime.now(UTC)
        root = make_ca(
            "Lab Test Root CA", now=now, org=LAB_ORG, not_before=now - timedelta(days=365)
        )
        inter = make_ca(
            "Lab Test Intermediate CA",
            now=now,
            issuer=root,
            org=LAB_ORG,
            path_length=0,
            not_before=now - timedelta(days=365),
        )
        self.root_pem_path = self.directory / ROOT_FILE
        self.root_pem_path.write_bytes(root.cert_pem)
        self._http = PkiHttpServer().start()
        http = self._http
        issuer_url = http.add_file(
            "/issuer/intermediate.der",
            inter.cert.public_bytes(serialization.Encoding.DER),
            "application/pkix-cert",
        )
        # the revoked case's serial is chosen now, so the responder answers before its leaf exists
        revoked_serial = x509.random_serial_number()
        revoked = {revoked_serial: (now - timedelta(days=2), x509.ReasonFlags.key_compromise)}
        ocsp_url = http.add_ocsp_responder(
            "/ocsp", inter.cert, inter.key, revoked=revoked if "revoked" in self.names else {}
        )
        pki = _LabPki(now, root, inter, issuer_url, ocsp_url, revoked_serial, keys)
        for spec in CASES:
            if spec.name in self.names:
                case = self._start_case(spec, pki)
                self.cases[spec.name] = case
                if on_case is not None:
                    on_case(case)

    def _start_case(self, spec: CaseSpec, pki: _LabPki) -> RunningCase:
        assert self._acceptor is not None
        name = spec.name
        host = spec.host
        now, root, inter = pki.now, pki.root, pki.inter
        if name in ("not-tls", "reset"):
            kind = "http" if name == "not-tls" else "reset"
            server = LabServer(kind, acceptor=self._acceptor).start()
            return RunningCase(spec, server.port, server)
        leaf_args: dict[str, object] = {
            "names": [host],
            "aia_ocsp": pki.ocsp_url,
            "not_before": now - timedelta(days=60),  # not "newly published"
            "not_after": now + timedelta(days=90),
        }
        issuer: Issued | None = inter
        send: tuple[int, ...] | None = None
        settings_extra: dict[str, object] = {}
        chain_tail: tuple[Issued, ...] = (inter,)
        if name == "expired":
            leaf_args.update(
                not_before=now - timedelta(days=100), not_after=now - timedelta(days=10)
            )
        elif name == "not-yet-valid":
            # half a day past the week: "valid in 7 days" whatever the second the check runs in
            leaf_args.update(
                not_before=now + timedelta(days=7, hours=12), not_after=now + timedelta(days=97)
            )
        elif name == "wrong-host":
            leaf_args["names"] = [f"other.{DOMAIN}"]
        elif name == "wildcard":
            leaf_args["names"] = [f"*.wildcard.{DOMAIN}"]
        elif name == "cn-only":
            leaf_args.update(san=False, cn=host)
        elif name == "self-signed":
            issuer, chain_tail = None, ()
            leaf_args.pop("aia_ocsp")
        elif name == "untrusted-root":
            other = make_ca("Untrusted Lab Root CA", now=now, org="Unknown Lab Org")
            issuer, chain_tail = other, (other,)
            leaf_args.pop("aia_ocsp")
        elif name == "incomplete-chain":
            leaf_args["aia_ca_issuers"] = pki.issuer_url
            send = (0,)
        elif name == "incomplete-no-aia":
            send = (0,)
        elif name == "sha1":
            legacy = make_ca(
                "Lab Test Legacy RSA CA",
                now=now,
                issuer=root,
                org=LAB_ORG,
                path_length=0,
                key=pki.keys.key(name),
            )
            issuer, chain_tail = legacy, (legacy,)
            settings_extra["seclevel0"] = True
        elif name == "rsa1024":
            leaf_args["key"] = pki.keys.key(name)
            settings_extra["seclevel0"] = True
        elif name == "tls10":
            settings_extra["legacy_only"] = True
        elif name == "client-cert":
            settings_extra["client_ca_pem"] = root.cert_pem
        elif name == "revoked":
            leaf_args["serial"] = pki.revoked_serial
        leaf = make_leaf(issuer, now=now, **leaf_args)  # type: ignore[arg-type]
        if name == "sha1" and issuer is not None and isinstance(issuer.key, rsa.RSAPrivateKey):
            leaf = Issued(resign_sha1(leaf.cert, issuer.key), leaf.key)
        settings = TlsSettings(chain=(leaf, *chain_tail), send=send, **settings_extra)  # type: ignore[arg-type]
        server = LabServer(
            "tls-one-segment" if name == "pq-middlebox" else "tls",
            ctx=tls_context(settings),
            body=f"tlsdiag lab: {name}\n".encode(),
            acceptor=self._acceptor,
        ).start()
        return RunningCase(spec, server.port, server)

    def stop(self) -> None:
        """Stop every server and remove the temporary directory."""
        for case in self.cases.values():
            case.server.stop()
        if self._acceptor is not None:
            self._acceptor.stop()
        if self._http is not None:
            self._http.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
