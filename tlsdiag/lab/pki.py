"""Certificates for the lab, generated at start (nothing in the repository can expire).

The lab's names and defaults (organisation "Example Lab PKI", ten-year CAs, 90-day leaves,
backdated one day) over the one builder, :mod:`tlsdiag.core.certbuild`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from tlsdiag.core.certbuild import Issued, PrivateKey, build_ca, build_leaf, name


def make_ca(
    cn: str,
    *,
    now: datetime,
    issuer: Issued | None = None,
    org: str = "Example Lab PKI",
    days: int = 3650,
    path_length: int | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    key: PrivateKey | None = None,
) -> Issued:
    """A CA certificate: self-signed root, or an intermediate signed by ``issuer``."""
    return build_ca(
        name(cn, org),
        not_before=not_before or now - timedelta(days=1),
        not_after=not_after or now + timedelta(days=days),
        key=key,
        issuer=issuer,
        path_length=path_length,
    )


def make_leaf(
    issuer: Issued | None,
    *,
    now: datetime,
    names: Sequence[str] = (),
    cn: str | None = None,
    san: bool = True,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    key: PrivateKey | None = None,
    aia_ca_issuers: str | None = None,
    aia_ocsp: str | None = None,
    crl_url: str | None = None,
    serial: int | None = None,
) -> Issued:
    """A server certificate. ``issuer=None`` makes it self-signed; ``serial`` is random when
    None."""
    return build_leaf(
        name(cn if cn is not None else (names[0] if names else None), "Example Lab Server"),
        issuer=issuer,
        not_before=not_before or now - timedelta(days=1),
        not_after=not_after or now + timedelta(days=90),
        key=key,
        names=names if san else (),
        aia_ca_issuers=aia_ca_issuers,
        aia_ocsp=aia_ocsp,
        crl_url=crl_url,
        serial=serial,
    )
