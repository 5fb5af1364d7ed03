"""The lab's PKI HTTP side: AIA issuer files, an OCSP responder and CRLs on 127.0.0.1.

A :class:`PkiHttpServer` binds ``127.0.0.1`` on a free port as soon as it is created (so
``base_url`` is known before certificates that point at it are minted), and serves from a
daemon thread between :meth:`start` and :meth:`stop` (or in a ``with`` block).

Routes:

* :meth:`add_file` - a static body (an issuer certificate in DER, PEM or PKCS#7, or anything).
* :meth:`add_ocsp_responder` - RFC 6960 over HTTP: ``POST path`` with an
  ``application/ocsp-request`` body, or ``GET path/<url-encoded base64 request>``. Responses are
  signed by the issuer key (a direct responder, or a delegated one when given), thisUpdate = now,
  nextUpdate = now + 1 hour. Serials in ``revoked`` are REVOKED; other serials are GOOD, unless
  ``issued`` is given, in which case serials outside it are UNKNOWN. A request for another
  issuer gets ``unauthorized``; one that does not parse gets ``malformedRequest``.
* :meth:`add_crl` - a DER CRL signed by the issuer (thisUpdate = now, nextUpdate = now + 1 day),
  regenerated once it is an hour old so a long-running lab never serves a stale one.
* :meth:`add_redirect` - a 302 to another URL (to test redirect limits).

Anything else is a 404 (a method a responder does not accept: 405). Nothing here ever leaves
127.0.0.1.
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import selectors
import socket
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from tlsdiag.core.certbuild import signature_hash
from tlsdiag.lab.workers import Workers

log = logging.getLogger(__name__)

RevokedMap = Mapping[int, tuple[datetime, x509.ReasonFlags | None]]

MAX_REQUEST_BYTES = 64 * 1024
OCSP_VALIDITY = timedelta(hours=1)
CRL_VALIDITY = timedelta(days=1)
CRL_REFRESH = timedelta(hours=1)


@dataclass(slots=True)
class _Responder:
    issuer_cert: x509.Certificate
    issuer_key: Any  # CertificateIssuerPrivateKeyTypes
    revoked: dict[int, tuple[datetime, x509.ReasonFlags | None]]
    issued: frozenset[int] | None
    signer_cert: x509.Certificate
    signer_key: Any
    methods: frozenset[str] = frozenset({"GET", "POST"})


@dataclass(slots=True)
class _Crl:
    issuer_cert: x509.Certificate
    issuer_key: Any
    revoked: dict[int, tuple[datetime, x509.ReasonFlags | None]]
    der: bytes = b""
    made_at: datetime = field(default_factory=lambda: datetime.min.replace(tzinfo=UTC))


class PkiHttpServer:
    """A tiny threaded HTTP server for AIA issuers, OCSP and CRLs, bound to 127.0.0.1:0."""

    def __init__(self, *, clock: Callable[[], datetime] | None = None, port: int = 0) -> None:
        """Bind 127.0.0.1 (not serving until :meth:`start`).

        Args:
            clock: returns "now" (aware UTC) for response times; the wall clock by default.
            port: the port to bind; 0 (the default) picks a free one.
        """
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._files: dict[str, tuple[bytes, str]] = {}
        self._redirects: dict[str, tuple[str, int]] = {}
        self._responders: dict[str, _Responder] = {}
        self._crls: dict[str, _Crl] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path) in arrival order
        self._workers = Workers("pki-http")
        self._httpd = _PooledHTTPServer(("127.0.0.1", port), self._handler_class(), self._workers)
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = socket.socketpair()  # stop() wakes the serving loop
        host, port = self._httpd.server_address[:2]
        self.port: int = int(port)
        self.base_url: str = f"http://{host!s}:{self.port}"

    # ------------------------------------------------------------------ routes

    def url_for(self, path: str) -> str:
        """The full URL of ``path`` on this server."""
        return self.base_url + _norm(path)

    def add_file(self, path: str, body: bytes, content_type: str) -> str:
        """Serve ``body`` at ``path`` with ``content_type``; returns the full URL."""
        with self._lock:
            self._files[_norm(path)] = (bytes(body), content_type)
        return self.url_for(path)

    def add_redirect(self, path: str, location: str, *, status: int = 302) -> str:
        """Answer ``path`` with a redirect to ``location``; returns the full URL."""
        with self._lock:
            self._redirects[_norm(path)] = (location, status)
        return self.url_for(path)

    def add_ocsp_responder(
        self,
        path: str,
        issuer_cert: x509.Certificate,
        issuer_key: Any,
        *,
        revoked: RevokedMap | None = None,
        issued: Collection[int] | None = None,
        responder_cert: x509.Certificate | None = None,
        responder_key: Any = None,
        methods: Collection[str] = ("GET", "POST"),
    ) -> str:
        """An OCSP responder for certificates of ``issuer_cert``; returns its URL.

        Args:
            path: where it answers (POST ``path``, GET ``path/<base64 request>``).
            issuer_cert: the CA whose certificates it answers for.
            issuer_key: that CA's private key (signs the responses unless a delegated
                responder is given).
            revoked: serial -> (revocation time, reason or None).
            issued: when given, serials neither here nor in ``revoked`` are UNKNOWN (else GOOD).
            responder_cert: a delegated responder certificate (id-kp-OCSPSigning, issued by
                ``issuer_cert``), included in the responses.
            responder_key: its private key.
            methods: the HTTP methods it answers; the others get 405 (to test GET fallback).
        """
        if (responder_cert is None) != (responder_key is None):
            raise ValueError("responder_cert and responder_key go together")
        responder = _Responder(
            issuer_cert=issuer_cert,
            issuer_key=issuer_key,
            revoked=dict(revoked or {}),
            issued=frozenset(issued) if issued is not None else None,
            signer_cert=responder_cert or issuer_cert,
            signer_key=responder_key if responder_key is not None else issuer_key,
            methods=frozenset(m.upper() for m in methods),
        )
        with self._lock:
            self._responders[_norm(path)] = responder
        return self.url_for(path)

    def add_crl(
        self,
        path: str,
        issuer_cert: x509.Certificate,
        issuer_key: Any,
        *,
        revoked: RevokedMap | None = None,
    ) -> str:
        """A DER CRL of ``issuer_cert`` listing ``revoked``; returns its URL."""
        crl = _Crl(issuer_cert, issuer_key, dict(revoked or {}))
        self._refresh_crl(crl)
        with self._lock:
            self._crls[_norm(path)] = crl
        return self.url_for(path)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> PkiHttpServer:
        """Serve from a daemon thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._serve, name=f"pki-http-{self.port}", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving at once (a byte on a socket pair wakes the loop) and close the socket."""
        if self._thread is not None:
            self._wake_w.send(b"x")
            self._thread.join(timeout=5)
            self._thread = None
        self._workers.close()
        self._wake_r.close()
        self._wake_w.close()
        self._httpd.server_close()

    def _serve(self) -> None:
        """Accept until :meth:`stop` writes to the wake-up pair (no polling interval)."""
        with selectors.DefaultSelector() as selector:
            selector.register(self._httpd, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while True:
                for key, _ in selector.select():
                    if key.fileobj is self._wake_r:
                        return
                    self._httpd.handle_request()

    def __enter__(self) -> PkiHttpServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ answers

    def _route(self, method: str, raw_path: str, body: bytes) -> tuple[int, bytes, dict[str, str]]:
        path = urlsplit(raw_path).path
        with self._lock:
            self.requests.append((method, path))
            file = self._files.get(path)
            redirect = self._redirects.get(path)
            crl = self._crls.get(path)
            responder, request_der = self._find_responder(method, path, body)
        if redirect is not None:
            return redirect[1], b"", {"Location": redirect[0]}
        if file is not None and method == "GET":
            return 200, file[0], {"Content-Type": file[1]}
        if crl is not None and method == "GET":
            return 200, self._refresh_crl(crl), {"Content-Type": "application/pkix-crl"}
        if responder is not None and method not in responder.methods:
            return 405, b"method not allowed\n", {"Content-Type": "text/plain"}
        if responder is not None and request_der is not None:
            der = self._ocsp_answer(responder, request_der)
            return 200, der, {"Content-Type": "application/ocsp-response"}
        return 404, b"not found\n", {"Content-Type": "text/plain"}

    def _find_responder(
        self, method: str, path: str, body: bytes
    ) -> tuple[_Responder | None, bytes | None]:
        if method == "POST" and path in self._responders:
            return self._responders[path], body
        if method != "GET":
            return None, None
        for prefix, responder in self._responders.items():
            if path.startswith(prefix.rstrip("/") + "/"):
                encoded = unquote(path[len(prefix.rstrip("/")) + 1 :])
                try:
                    return responder, base64.b64decode(encoded, validate=False)
                except (binascii.Error, ValueError):
                    return responder, b""
        return None, None

    def _ocsp_answer(self, responder: _Responder, request_der: bytes) -> bytes:
        try:
            request = ocsp.load_der_ocsp_request(request_der)
        except ValueError:
            return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        if (request.issuer_name_hash, request.issuer_key_hash) != _issuer_hashes(
            responder.issuer_cert, request.hash_algorithm
        ):
            return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
        now = self._clock()
        serial = request.serial_number
        revoked_at: datetime | None = None
        reason: x509.ReasonFlags | None = None
        if serial in responder.revoked:
            status = ocsp.OCSPCertStatus.REVOKED
            revoked_at, reason = responder.revoked[serial]
        elif responder.issued is not None and serial not in responder.issued:
            status = ocsp.OCSPCertStatus.UNKNOWN
        else:
            status = ocsp.OCSPCertStatus.GOOD
        builder = (
            ocsp.OCSPResponseBuilder()
            .add_response_by_hash(
                issuer_name_hash=request.issuer_name_hash,
                issuer_key_hash=request.issuer_key_hash,
                serial_number=serial,
                algorithm=request.hash_algorithm,
                cert_status=status,
                this_update=now,
                next_update=now + OCSP_VALIDITY,
                revocation_time=revoked_at,
                revocation_reason=reason,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, responder.signer_cert)
        )
        if responder.signer_cert is not responder.issuer_cert:
            builder = builder.certificates([responder.signer_cert])
        response = builder.sign(responder.signer_key, signature_hash(responder.signer_key))
        return response.public_bytes(serialization.Encoding.DER)

    def _refresh_crl(self, crl: _Crl) -> bytes:
        now = self._clock()
        if crl.der and now - crl.made_at < CRL_REFRESH:
            return crl.der
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(crl.issuer_cert.subject)
            .last_update(now)
            .next_update(now + CRL_VALIDITY)
        )
        for serial, (when, reason) in crl.revoked.items():
            entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when)
            if reason is not None:
                entry = entry.add_extension(x509.CRLReason(reason), critical=False)
            builder = builder.add_revoked_certificate(entry.build())
        signed = builder.sign(crl.issuer_key, signature_hash(crl.issuer_key))
        crl.der = signed.public_bytes(serialization.Encoding.DER)
        crl.made_at = now
        return crl.der

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "tlsdiag-lab-pki"

            def do_GET(self) -> None:
                self._answer("GET", b"")

            def do_POST(self) -> None:
                try:
                    length = int(self.headers.get("Content-Length", "0"))
                except ValueError:
                    length = -1
                if not 0 <= length <= MAX_REQUEST_BYTES:
                    self._send(413, b"request too large\n", {"Content-Type": "text/plain"})
                    return
                self._answer("POST", self.rfile.read(length))

            def _answer(self, method: str, body: bytes) -> None:
                try:
                    status, payload, headers = server._route(method, self.path, body)
                except Exception:  # a lab server must keep serving; log and answer 500
                    log.exception("pki http: %s %s failed", method, self.path)
                    status, payload, headers = 500, b"error\n", {"Content-Type": "text/plain"}
                self._send(status, payload, headers)

            def _send(self, status: int, payload: bytes, headers: Mapping[str, str]) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("pki http: " + format, *args)

        return Handler


class _PooledHTTPServer(HTTPServer):
    """An ``HTTPServer`` whose requests run on reusable daemon threads (a new thread per
    connection costs a scheduler round trip)."""

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        workers: Workers,
    ) -> None:
        super().__init__(address, handler)
        self.workers = workers

    def process_request(self, request: Any, client_address: Any) -> None:
        self.workers.submit(functools.partial(self._process, request, client_address))

    def _process(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except ConnectionError:
            pass  # a client that hangs up early (a timeout, a redirect limit): not an error here
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)


def _norm(path: str) -> str:
    return path if path.startswith("/") else "/" + path


def _issuer_hashes(
    issuer: x509.Certificate, algorithm: hashes.HashAlgorithm
) -> tuple[bytes, bytes]:
    """(issuerNameHash, issuerKeyHash) of a CertID naming ``issuer`` as the CA."""
    digest = hashes.Hash(algorithm)
    digest.update(issuer.subject.public_bytes())
    # The key hash covers only the issuer's key; any certificate works as the first argument.
    key_hash = (
        ocsp.OCSPRequestBuilder().add_certificate(issuer, issuer, algorithm).build().issuer_key_hash
    )
    return digest.finalize(), key_hash


def _unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(
        serialization.Encoding.DER
    )
