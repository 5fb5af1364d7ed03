"""Remove secrets from HAR entries, URLs and proxy settings before anything is written (pure).

Removed: the ``Cookie``, ``Set-Cookie``, ``Authorization`` and ``Proxy-Authorization`` headers
(and any header whose name looks like a credential: ``X-Api-Key``, ``X-Auth-Token`` ...), the
``cookies`` arrays, credential-looking query and form parameters (``token``, ``access_token``,
``password``, ``api_key``, ``sig`` ...) and any value shaped like a JWT, the bodies of requests
and responses (they can hold anything), and ``user:password@`` in URLs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

REDACTED = "REDACTED"
_HEADERS = frozenset({"cookie", "set-cookie", "authorization", "proxy-authorization"})
_SECRET_WORDS = re.compile(
    r"token|secret|passw|passwd|pwd|auth|session|signature|credential|api[-_]?key|apikey|"
    r"private|cookie|csrf|xsrf|saml|ticket|nonce",
    re.IGNORECASE,
)
_SECRET_NAMES = frozenset({"key", "sig", "code", "sid", "jwt", "pass", "hash", "otp", "pin"})
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"\b(Bearer|Basic|Digest|Negotiate|NTLM)\s+[A-Za-z0-9._~+/=-]{8,}", re.I)
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@")


def secret_name(name: str) -> bool:
    """True when a parameter or header name looks like it carries a credential."""
    low = name.strip().lower()
    return low in _HEADERS or low in _SECRET_NAMES or bool(_SECRET_WORDS.search(low))


def redact_text(text: str) -> str:
    """Mask JWTs, ``Bearer ...``-style credentials and ``user:pass@`` in free text."""
    text = _JWT.sub(REDACTED, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", text)


def redact_url(url: str) -> str:
    """The URL without user info and with credential-looking query values masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if pairs:
            query = "&".join(
                f"{quote(k, safe='')}={REDACTED if secret_name(k) else quote(v, safe='')}"
                for k, v in pairs
            )
    fragment = parts.fragment
    if fragment and "=" in fragment:  # OAuth implicit flow: #access_token=...
        pairs = parse_qsl(fragment, keep_blank_values=True)
        if pairs:
            fragment = "&".join(
                f"{quote(k, safe='')}={REDACTED if secret_name(k) else quote(v, safe='')}"
                for k, v in pairs
            )
    out = urlunsplit((parts.scheme, netloc, parts.path, query, fragment))
    return redact_text(out)


def _headers(headers: Any) -> list[dict[str, Any]]:
    out = []
    for h in headers if isinstance(headers, list) else ():
        if not isinstance(h, Mapping):
            continue
        name = str(h.get("name", ""))
        if secret_name(name):
            continue
        value = str(h.get("value", ""))
        value = redact_url(value) if "://" in value or "?" in value else redact_text(value)
        out.append({**h, "value": value})
    return out


def _params(params: Any) -> list[dict[str, Any]]:
    out = []
    for p in params if isinstance(params, list) else ():
        if not isinstance(p, Mapping):
            continue
        if secret_name(str(p.get("name", ""))):
            out.append({**p, "value": REDACTED})
        else:
            out.append({**p, "value": redact_text(str(p.get("value", "")))})
    return out


def _message(msg: Any, *, request: bool) -> dict[str, Any]:
    if not isinstance(msg, Mapping):
        return {}
    out: dict[str, Any] = dict(msg)
    out["headers"] = _headers(msg.get("headers"))
    out["cookies"] = []
    if request:
        if "url" in out:
            out["url"] = redact_url(str(out["url"]))
        if "queryString" in out:
            out["queryString"] = _params(msg.get("queryString"))
        post = msg.get("postData")
        if isinstance(post, Mapping):
            out["postData"] = {
                "mimeType": post.get("mimeType", ""),
                "params": _params(post.get("params")),
                "text": "",
                "comment": "body removed by tlsdiag",
            }
    else:
        if "redirectURL" in out:
            out["redirectURL"] = redact_url(str(out["redirectURL"]))
        content = msg.get("content")
        if isinstance(content, Mapping):
            kept = {k: v for k, v in content.items() if k not in {"text", "encoding"}}
            out["content"] = {**kept, "comment": "body removed by tlsdiag"}
    return out


def redact_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A HAR entry safe to write: no cookies, credentials, tokens or bodies.

    Args:
        entry: one element of ``log.entries`` as decoded.

    Returns:
        A new entry; the input is not changed.
    """
    out: dict[str, Any] = {}
    for key, value in entry.items():
        if key == "request":
            out[key] = _message(value, request=True)
        elif key == "response":
            out[key] = _message(value, request=False)
        elif isinstance(value, str):
            out[key] = redact_text(value)
        elif key == "_initiator" or (key.startswith("_") and isinstance(value, dict | list)):
            continue  # browser-private details (stack traces with URLs): not needed
        else:
            out[key] = value
    return out


def redact_page(page: Any) -> Any:
    """A ``log.pages`` element with its title (often the URL) redacted."""
    if not isinstance(page, Mapping):
        return page
    title = str(page.get("title", ""))
    return {**page, "title": redact_url(title) if "://" in title else redact_text(title)}


def redact_proxy_value(value: str) -> str:
    """A proxy setting (``http://user:pass@proxy:8080``) without its credentials."""
    return _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", value)
