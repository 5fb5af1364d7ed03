"""Read certificates out of trust-store files: PEM bundles, certificate directories (plain and
OpenSSL hashed), Java keystores (JKS, JCEKS, PKCS#12) and NSS ``cert9.db`` databases.

Every reader returns ``(certs, error)``: the certificates as ``StoreCert`` records and, when the
store cannot be read, a short reason (trust then counts as unknown). Nothing here raises for a
bad store file: an unreadable store is a fact of the machine, not a tlsdiag failure.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import sqlite3
import struct
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from tlsdiag.core.der import encode_tlv, read_tlv
from tlsdiag.core.quiet import quietly
from tlsdiag.core.trust.records import StoreCert

Reading = tuple[tuple[StoreCert, ...], str]

_PEM_RE = re.compile(
    rb"-----BEGIN (TRUSTED )?CERTIFICATE-----\s*(.+?)\s*-----END (?:TRUSTED )?CERTIFICATE-----",
    re.DOTALL,
)
_MAX_FILE = 64 * 1024 * 1024


def _first_tlv(data: bytes) -> bytes:
    """The first complete DER TLV of ``data`` (a TRUSTED CERTIFICATE is cert DER + aux)."""
    try:
        return data[: read_tlv(data)[2]]
    except ValueError:
        return data


def store_cert(der: bytes, *, label: str = "", where: str = "") -> StoreCert | None:
    """A ``StoreCert`` for one DER certificate (None when it cannot be parsed)."""
    try:
        with quietly():
            # cryptography warns on non-RFC-5280 certificates that distributions still ship
            cert = x509.load_der_x509_certificate(der)
            spki = cert.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            subject = cert.subject.rfc4514_string()
            not_after = cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, TypeError):
        return None
    return StoreCert(
        sha256=hashlib.sha256(der).hexdigest(),
        spki_sha256=hashlib.sha256(spki).hexdigest(),
        subject=subject,
        not_after=not_after,
        label=label,
        where=where,
        der=der,
    )


def _collect(ders: Iterable[tuple[bytes, str]], where: str = "") -> tuple[StoreCert, ...]:
    out: dict[str, StoreCert] = {}
    for der, label in ders:
        cert = store_cert(der, label=label, where=where)
        if cert is not None and cert.sha256 not in out:
            out[cert.sha256] = cert
    return tuple(out.values())


def pem_ders(data: bytes) -> list[bytes]:
    """DER certificates of a PEM bundle (``CERTIFICATE`` and ``TRUSTED CERTIFICATE`` blocks);
    a file without PEM markers is tried as one DER certificate."""
    if b"-----BEGIN" not in data:
        return [data] if data[:1] == b"\x30" else []
    ders = []
    for match in _PEM_RE.finditer(data):
        try:
            der = base64.b64decode(b"".join(match.group(2).split()), validate=True)
        except (binascii.Error, ValueError):
            continue
        ders.append(_first_tlv(der) if match.group(1) else der)
    return ders


def _read_bytes(path: Path) -> tuple[bytes | None, str]:
    try:
        if path.stat().st_size > _MAX_FILE:
            return None, f"{path}: larger than 64 MiB"
        return path.read_bytes(), ""
    except PermissionError:
        return None, f"{path}: permission denied"
    except IsADirectoryError:
        return None, f"{path}: is a directory, expected a file"
    except OSError as exc:
        return None, f"{path}: cannot read: {exc.strerror}"


def read_pem(path: Path) -> Reading:
    """A PEM (or single DER) bundle."""
    data, error = _read_bytes(path)
    if data is None:
        return (), error
    ders = pem_ders(data)
    certs = _collect((d, "") for d in ders)
    if not certs and data.strip():
        return (), f"{path}: no certificate found"
    return certs, ""


def _dir_files(path: Path) -> list[Path]:
    try:
        return sorted(p for p in path.iterdir() if p.is_file())
    except PermissionError:
        return []
    except OSError:
        return []


def read_pem_dir(path: Path) -> Reading:
    """Every certificate of every file in a directory (not recursive), like Go's cert dirs."""
    if not path.is_dir():
        return (), f"{path}: not a directory"
    out: dict[str, StoreCert] = {}
    for file in _dir_files(path):
        data, _ = _read_bytes(file)
        if data is None:
            continue
        for cert in _collect(((d, "") for d in pem_ders(data)), where=str(file)):
            out.setdefault(cert.sha256, cert)
    return tuple(out.values()), ""


# ------------------------------------------------------------------ OpenSSL hashed directories

_STRING_TAGS = {0x0C, 0x13, 0x14, 0x16, 0x1A, 0x1C, 0x1E}


def _canon_string(tag: int, value: bytes) -> bytes:
    if tag == 0x1E:
        text = value.decode("utf-16-be", "replace")
    elif tag == 0x1C:
        text = value.decode("utf-32-be", "replace")
    elif tag == 0x14:
        text = value.decode("latin-1")
    else:
        text = value.decode("utf-8", "replace")
    raw = text.encode("utf-8")
    spaces = b" \t\n\v\f\r"
    raw = raw.strip(spaces)
    out = bytearray()
    prev_space = False
    for byte in raw:
        if byte in spaces:
            if not prev_space:
                out.append(0x20)
            prev_space = True
            continue
        prev_space = False
        out.append(byte + 32 if 0x41 <= byte <= 0x5A else byte)
    return bytes(out)


def subject_hash(name_der: bytes) -> str:
    """OpenSSL's ``X509_NAME_hash`` (``openssl x509 -hash``) of a DER ``Name``, as 8 hex digits.

    SHA-1 over the canonical encoding (each RDN set re-encoded with string values converted to
    lower-cased, whitespace-collapsed UTF8String), first four bytes read little-endian.
    """
    _, seq, _ = read_tlv(name_der)
    canon = bytearray()
    pos = 0
    while pos < len(seq):
        _, rdn, pos = read_tlv(seq, pos)
        members = []
        rpos = 0
        while rpos < len(rdn):
            _, atv, rpos = read_tlv(rdn, rpos)
            _, _, o_end = read_tlv(atv)
            oid = atv[:o_end]
            vtag, value, v_end = read_tlv(atv, o_end)
            if vtag in _STRING_TAGS:
                encoded = encode_tlv(0x0C, _canon_string(vtag, value))
            else:
                encoded = atv[o_end:v_end]
            members.append(encode_tlv(0x30, oid + encoded))
        canon += encode_tlv(0x31, b"".join(sorted(members)))
    digest = hashlib.sha1(bytes(canon)).digest()
    return f"{int.from_bytes(digest[:4], 'little'):08x}"


def read_hashed_dir(path: Path) -> Reading:
    """A certificate directory as OpenSSL sees it: it only opens ``<subject hash>.N`` files, so
    a certificate dropped in without rehashing is present but not used."""
    if not path.is_dir():
        return (), f"{path}: not a directory"
    out: dict[str, StoreCert] = {}
    hashed: dict[str, set[str]] = {}  # sha256 -> hash names that hold it
    files = _dir_files(path)
    parsed: list[tuple[Path, bytes]] = []
    for file in files:
        data, _ = _read_bytes(file)
        if data is None:
            continue
        for der in pem_ders(data):
            parsed.append((file, der))
            if re.fullmatch(r"[0-9a-f]{8}\.\d+", file.name):
                hashed.setdefault(hashlib.sha256(der).hexdigest(), set()).add(file.name)
    for file, der in parsed:
        cert = store_cert(der, where=str(file))
        if cert is None or cert.sha256 in out:
            continue
        try:
            with quietly():
                name_der = x509.load_der_x509_certificate(der).subject.public_bytes()
            expected = subject_hash(name_der)
        except (ValueError, IndexError):
            expected = ""
        reachable = any(n.startswith(expected + ".") for n in hashed.get(cert.sha256, ()))
        if not reachable:
            cert = replace(
                cert,
                trusted=False,
                why_untrusted=(
                    f"{file.name} is not reachable by its subject hash {expected}.0: "
                    f"run `openssl rehash {path}`"
                ),
            )
        out[cert.sha256] = cert
    # a hashed link wins over an unhashed copy of the same certificate
    return tuple(out.values()), ""


# ----------------------------------------------------------------------------- Java keystores

_JKS_MAGIC = 0xFEEDFEED
_JCEKS_MAGIC = 0xCECECECE


def _utf(data: bytes, pos: int) -> tuple[str, int]:
    (n,) = struct.unpack_from(">H", data, pos)
    pos += 2
    return data[pos : pos + n].decode("utf-8", "replace"), pos + n


def parse_jks(data: bytes) -> list[tuple[str, bytes]]:
    """(alias, DER) of every trusted-certificate entry of a JKS or JCEKS keystore.

    Private-key entries are skipped; a JCEKS secret-key entry (a serialized Java object) ends
    the walk, since its length is not recorded. The trailing integrity digest is not checked.

    Raises:
        ValueError: not a JKS/JCEKS keystore, or truncated.
    """
    try:
        magic, version, count = struct.unpack_from(">III", data, 0)
        if magic not in (_JKS_MAGIC, _JCEKS_MAGIC) or version not in (1, 2):
            raise ValueError("not a JKS or JCEKS keystore")
        pos = 12
        out: list[tuple[str, bytes]] = []
        for _ in range(count):
            (tag,) = struct.unpack_from(">I", data, pos)
            pos += 4
            alias, pos = _utf(data, pos)
            pos += 8  # timestamp
            if tag == 2:
                if version == 2:
                    _, pos = _utf(data, pos)  # certificate type, "X.509"
                (n,) = struct.unpack_from(">I", data, pos)
                pos += 4
                der = data[pos : pos + n]
                if len(der) != n:
                    raise ValueError("truncated certificate")
                out.append((alias, der))
                pos += n
            elif tag == 1:
                (n,) = struct.unpack_from(">I", data, pos)
                pos += 4 + n
                (chain,) = struct.unpack_from(">I", data, pos)
                pos += 4
                for _ in range(chain):
                    if version == 2:
                        _, pos = _utf(data, pos)
                    (n,) = struct.unpack_from(">I", data, pos)
                    pos += 4 + n
            else:
                break
        return out
    except struct.error as exc:
        raise ValueError(f"truncated keystore: {exc}") from exc


def read_java_keystore(path: Path, passwords: tuple[str, ...] = ("", "changeit")) -> Reading:
    """A Java keystore: JKS/JCEKS parsed directly, PKCS#12 through cryptography (tried without
    a password, then with each of ``passwords``; Java's default is ``changeit``)."""
    data, error = _read_bytes(path)
    if data is None:
        return (), error
    if data[:4] in (b"\xfe\xed\xfe\xed", b"\xce\xce\xce\xce"):
        try:
            return _collect((der, alias) for alias, der in parse_jks(data)), ""
        except ValueError as exc:
            return (), f"{path}: {exc}"
    if data[:1] != b"\x30":
        return (), f"{path}: not a Java keystore (neither JKS nor PKCS#12)"
    last = ""
    for password in passwords:
        try:
            with quietly():
                store = pkcs12.load_pkcs12(data, password.encode() if password else None)
        except (ValueError, TypeError) as exc:
            last = str(exc)
            continue
        entries = [(c.certificate, c.friendly_name) for c in store.additional_certs]
        if store.cert is not None:
            entries.append((store.cert.certificate, store.cert.friendly_name))
        return _collect(
            (
                cert.public_bytes(serialization.Encoding.DER),
                (name or b"").decode("utf-8", "replace"),
            )
            for cert, name in entries
        ), ""
    return (), f"{path}: cannot open the PKCS#12 keystore with the default password ({last})"


# --------------------------------------------------------------------------- NSS cert9.db

_CKO_CERTIFICATE = 1
_CKO_NSS_TRUST = 0xCE534353
_TRUST_NAMES = {
    0xCE534352: "trusted delegator (C)",
    0xCE534351: "trusted peer (P)",
    0xCE53435A: "not trusted",
    0xCE534353: "must verify (no C flag)",
    0xCE534350: "unknown trust",
}
_CKT_NSS_TRUSTED_DELEGATOR = 0xCE534352


def _ulong(value: object) -> int | None:
    if isinstance(value, bytes) and len(value) == 4:
        return int.from_bytes(value, "big")
    return None


def read_nss(path: Path) -> Reading:
    """An NSS ``cert9.db`` (SQLite): certificates and their SSL server trust flags. Only a
    certificate marked "trusted delegator" (``C``) for SSL is a trust anchor. The database is
    opened read-only so a running browser is not disturbed."""
    if path.name == "cert8.db":
        return (), f"{path}: legacy cert8.db (Berkeley DB) is not supported"
    uri = "file:" + path.as_posix() + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=2)
    except sqlite3.Error as exc:
        return (), f"{path}: cannot open: {exc}"
    try:
        rows = conn.execute("SELECT a0, a3, a11, ace5363b4, ace536358 FROM nssPublic").fetchall()
    except sqlite3.Error as exc:
        return (), f"{path}: not an NSS database: {exc}"
    finally:
        conn.close()
    trust: dict[str, int] = {}
    certs: list[tuple[bytes, str]] = []
    for cls, label, value, sha1, server_auth in rows:
        kind = _ulong(cls)
        if kind == _CKO_CERTIFICATE and isinstance(value, bytes):
            name = label.decode("utf-8", "replace") if isinstance(label, bytes) else ""
            certs.append((value, name))
        elif kind == _CKO_NSS_TRUST and isinstance(sha1, bytes):
            flag = _ulong(server_auth)
            if flag is not None:
                trust[sha1.hex()] = flag
    out: list[StoreCert] = []
    for der, name in certs:
        cert = store_cert(der, label=name, where=str(path))
        if cert is None:
            continue
        flag = trust.get(hashlib.sha1(der).hexdigest())
        if flag != _CKT_NSS_TRUSTED_DELEGATOR:
            why = _TRUST_NAMES.get(flag, "no trust flags") if flag is not None else "no trust flags"
            cert = replace(
                cert,
                trusted=False,
                why_untrusted=f"present as {name!r} but {why} for websites (needs the C flag)",
            )
        out.append(cert)
    return tuple(out), ""


def read_path(reader: str, path: Path) -> Reading:
    """Dispatch on the reader name of the catalogue (a directory given to ``pem`` is read as a
    certificate directory, as OpenSSL-based tools accept both for their CA options)."""
    if reader == "pem" and path.is_dir():
        return read_pem_dir(path)
    match reader:
        case "pem":
            return read_pem(path)
        case "pem-dir":
            return read_pem_dir(path)
        case "hashed-dir":
            return read_hashed_dir(path)
        case "java-keystore":
            return read_java_keystore(path)
        case "nss-sqlite":
            return read_nss(path)
    raise ValueError(f"unknown reader {reader!r}")
