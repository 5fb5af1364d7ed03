"""Present a certificate on one TLS connection without a context per certificate (ctypes).

Python's ``ssl`` sets a certificate only on an ``SSLContext`` and only from files, so a forged
leaf per name costs a new context and ``load_cert_chain`` (OpenSSL 3 decodes the PEM key and
certificates on every call, about 0.7 ms). ``NativeCerts`` instead calls the libssl that
Python's ``_ssl`` module loaded: the leaf key and the CA are decoded once, each forged leaf
once, and every connection of one shared server context gets its leaf with one
``SSL_use_cert_and_key`` call. Kept upstream sessions are taken and offered the same way
(``SSL_get1_session``/``SSL_set_session``), without CPython's copy through DER.

This reaches into CPython's ``_ssl`` objects (the ``SSL *`` of a ``_ssl._SSLSocket`` and the
``SSL_CTX *`` of a ``_ssl._SSLContext``, the first fields after the object header in CPython
3.11 to 3.13). ``NativeCerts.load`` therefore trusts nothing: it refuses another interpreter, a
debug build, another layout version or another OpenSSL than the one ``ssl`` reports, finds the
``SSL *`` only where ``SSL_get_SSL_CTX`` of it gives back the context's own ``SSL_CTX *``, and
then runs a whole handshake over memory BIOs in which a client must receive the certificate it
set. When anything looks off it returns None and the caller keeps a context per certificate.
Each connection checks again that the pointer found belongs to the context it was made from.
"""

from __future__ import annotations

import contextlib
import ctypes
import ssl
import sys
from typing import Any

_HEAD = 2 * ctypes.sizeof(ctypes.c_void_p)  # ob_refcnt + ob_type (no Py_TRACE_REFS)
# The offsets after the header: _SSLContext {SSL_CTX *ctx}, _SSLSocket {Socket, SSL *ssl}.
_CTX_OFFSET = _HEAD
_SSL_OFFSET = _HEAD + ctypes.sizeof(ctypes.c_void_p)
_LAYOUT_VERSIONS = ((3, 11), (3, 12), (3, 13))


def _free_threaded_build() -> bool:
    import sysconfig

    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


class NativeCerts:
    """Certificates and keys as libssl objects, presented per connection."""

    def __init__(self, lib: Any) -> None:
        self._lib = lib

    # --- loading -------------------------------------------------------------------------
    @classmethod
    def load(cls) -> NativeCerts | None:
        """The helper, or None when this interpreter or its libssl is not the expected one."""
        if (
            sys.implementation.name != "cpython"
            or sys.version_info[:2] not in _LAYOUT_VERSIONS
            or hasattr(sys, "gettotalrefcount")  # a debug build: another object header
            or _free_threaded_build()  # another object header, even with the GIL on
        ):
            return None
        try:
            import _ssl

            # The C structs must be at least as large as the fields read from them.
            types = (getattr(_ssl, "_SSLContext", None), getattr(_ssl, "_SSLSocket", None))
            if any(t is None or t.__basicsize__ <= _SSL_OFFSET for t in types):
                return None
            lib = ctypes.CDLL(_ssl.__file__)  # its symbols and those of the libssl it linked
            native = cls(lib)
            native._declare()
            if lib.OpenSSL_version_num() != ssl.OPENSSL_VERSION_NUMBER:
                return None
            if not native._self_test():
                return None
        except (OSError, AttributeError, ValueError, ssl.SSLError):
            return None
        return native

    def _declare(self) -> None:
        lib = self._lib
        p, i, c_long = ctypes.c_void_p, ctypes.c_int, ctypes.c_long
        for fname, restype, argtypes in (
            ("OpenSSL_version_num", ctypes.c_ulong, []),
            ("d2i_X509", p, [p, ctypes.POINTER(ctypes.c_char_p), c_long]),
            ("X509_free", None, [p]),
            ("d2i_AutoPrivateKey", p, [p, ctypes.POINTER(ctypes.c_char_p), c_long]),
            ("EVP_PKEY_free", None, [p]),
            ("OPENSSL_sk_new_null", p, []),
            ("OPENSSL_sk_push", i, [p, p]),
            ("OPENSSL_sk_free", None, [p]),
            ("SSL_get_SSL_CTX", p, [p]),
            ("SSL_use_cert_and_key", i, [p, p, p, p, i]),
            ("SSL_set_session_id_context", i, [p, ctypes.c_char_p, ctypes.c_uint]),
            ("SSL_get1_session", p, [p]),
            ("SSL_set_session", i, [p, p]),
            ("SSL_SESSION_free", None, [p]),
            ("SSL_SESSION_has_ticket", i, [p]),
            ("ERR_clear_error", None, []),
        ):
            fn = getattr(lib, fname)
            fn.restype = restype
            fn.argtypes = argtypes

    # --- libssl objects ------------------------------------------------------------------
    def _d2i(self, fn: Any, der: bytes) -> int:
        buf = ctypes.c_char_p(der)
        ptr = fn(None, ctypes.byref(buf), len(der))
        if not ptr:
            self._lib.ERR_clear_error()
            raise ValueError("libssl could not decode the DER")
        return int(ptr)

    def x509(self, der: bytes) -> int:
        """An ``X509 *`` decoded from DER (free it with ``free_x509``)."""
        return self._d2i(self._lib.d2i_X509, der)

    def free_x509(self, ptr: int) -> None:
        """Drop our reference (a connection that uses it holds its own)."""
        self._lib.X509_free(ptr)

    def pkey(self, der: bytes) -> int:
        """An ``EVP_PKEY *`` from a DER private key (PKCS#8 or traditional)."""
        return self._d2i(self._lib.d2i_AutoPrivateKey, der)

    def free_pkey(self, ptr: int) -> None:
        """Free a key from ``pkey``."""
        self._lib.EVP_PKEY_free(ptr)

    def chain(self, certs: list[int]) -> int:
        """A ``STACK_OF(X509) *`` of these certificates (not owning them; free with
        ``free_chain`` before the certificates)."""
        sk = self._lib.OPENSSL_sk_new_null()
        if not sk:
            raise ValueError("libssl could not allocate a stack")
        for cert in certs:
            if self._lib.OPENSSL_sk_push(sk, cert) <= 0:
                self._lib.OPENSSL_sk_free(sk)
                raise ValueError("libssl could not grow a stack")
        return int(sk)

    def free_chain(self, sk: int) -> None:
        """Free a stack from ``chain`` (the certificates stay)."""
        self._lib.OPENSSL_sk_free(sk)

    # --- per connection ------------------------------------------------------------------
    @staticmethod
    def _field(obj: object, offset: int) -> int:
        return int(ctypes.c_void_p.from_address(id(obj) + offset).value or 0)

    def _ssl(self, tls: ssl.SSLObject) -> int:
        """The connection's ``SSL *``, or 0 when it is not the one its context made."""
        raw = getattr(tls, "_sslobj", None)
        if raw is None:
            return 0
        ssl_ptr = self._field(raw, _SSL_OFFSET)
        # ssl.SSLContext subclasses the C type _ssl._SSLContext: the field is on the object.
        ctx_ptr = self._field(tls.context, _CTX_OFFSET)
        if not ssl_ptr or not ctx_ptr or self._lib.SSL_get_SSL_CTX(ssl_ptr) != ctx_ptr:
            return 0
        return ssl_ptr

    def use(self, tls: ssl.SSLObject, cert: int, key: int, chain: int | None, sid: bytes) -> bool:
        """Present ``cert`` (with ``key`` and ``chain``) on this connection before its
        handshake, with ``sid`` (at most 32 bytes, one per certificate) as its session ID
        context. False when the connection's ``SSL *`` cannot be confirmed or libssl
        refuses: the caller then uses a context with the certificate loaded.

        All connections share one context, so its session cache and ticket key too: without
        a context per certificate, a client could resume a session made with one leaf on a
        connection due to present another, skip the certificate, and accept what it must
        refuse. OpenSSL resumes a session (from its cache or a ticket) only into the session
        ID context it was made in."""
        ssl_ptr = self._ssl(tls)
        lib = self._lib
        if not ssl_ptr:
            return False
        if (
            lib.SSL_set_session_id_context(ssl_ptr, sid, len(sid)) != 1
            or lib.SSL_use_cert_and_key(ssl_ptr, cert, key, chain, 1) != 1
        ):
            lib.ERR_clear_error()
            return False
        return True

    def session(self, tls: ssl.SSLObject) -> NativeSession | None:
        """The connection's TLS session when it has a ticket to resume with (no copy: CPython's
        ``SSLObject.session`` copies it through DER, about 0.15 ms each way)."""
        ssl_ptr = self._ssl(tls)
        if not ssl_ptr:
            return None
        sess = self._lib.SSL_get1_session(ssl_ptr)
        if not sess:
            return None
        kept = NativeSession(self._lib, int(sess))  # frees it when dropped
        return kept if self._lib.SSL_SESSION_has_ticket(sess) else None

    def resume(self, tls: ssl.SSLObject, kept: NativeSession) -> bool:
        """Offer a kept session on a client connection before its handshake."""
        ssl_ptr = self._ssl(tls)
        if not ssl_ptr or self._lib.SSL_set_session(ssl_ptr, kept.ptr) != 1:
            self._lib.ERR_clear_error()
            return False
        return True

    def _self_test(self) -> bool:
        """A handshake over memory BIOs: the client must receive the certificate set here."""
        from datetime import UTC, datetime, timedelta

        from cryptography.hazmat.primitives import serialization

        from tlsdiag.core.certbuild import build_ca, build_leaf, name

        now = datetime.now(UTC)
        ca = build_ca(name("tlsdiag self-test"), not_before=now, not_after=now + timedelta(1))
        leaf = build_leaf(
            name("self-test.invalid"),
            issuer=ca,
            not_before=now,
            not_after=now + timedelta(1),
            names=["self-test.invalid"],
        )
        der = leaf.cert.public_bytes(serialization.Encoding.DER)
        key_der = leaf.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client_ctx.load_verify_locations(cadata=ca.cert_pem.decode())
        cert, key = self.x509(der), self.pkey(key_der)
        try:
            c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
            client = client_ctx.wrap_bio(c_in, c_out, server_hostname="self-test.invalid")
            server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
            if not self.use(server, cert, key, None, b"self-test"):
                return False
            for _ in range(6):
                for obj, out, peer_in in ((client, c_out, s_in), (server, s_out, c_in)):
                    with contextlib.suppress(ssl.SSLWantReadError):
                        obj.do_handshake()
                    peer_in.write(out.read())
            return client.getpeercert(binary_form=True) == der
        finally:
            self.free_x509(cert)
            self.free_pkey(key)


class NativeSession:
    """One reference to a libssl ``SSL_SESSION``, released when this object goes."""

    __slots__ = ("_lib", "ptr")

    def __init__(self, lib: Any, ptr: int) -> None:
        self._lib = lib
        self.ptr = ptr

    def __del__(self) -> None:
        if self.ptr:
            self._lib.SSL_SESSION_free(self.ptr)
            self.ptr = 0
