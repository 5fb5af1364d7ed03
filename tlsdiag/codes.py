"""The one registry of finding codes (public contract: never rename or reuse a code).

The codes and their meaning come from the project's CAUSES table; titles, explanations and
remedies live in ``data/findings.toml`` keyed by these codes (a test checks both sets match).
Codes marked *tlsdiag addition* are not in the shared table; they were added where no code fit.
"""

from __future__ import annotations

INTERCEPTION_DETECTED = "interception.detected"
CLIENT_ROOT_NOT_TRUSTED = "client.root_not_trusted"
CLIENT_STORE_MISMATCH = "client.store_mismatch"
CLIENT_CLOCK_SKEW = "client.clock_skew"
APP_CERTIFICATE_PINNING = "app.certificate_pinning"
APP_MUTUAL_TLS = "app.mutual_tls"
SERVER_CERT_EXPIRED = "server.cert_expired"
SERVER_CERT_NOT_YET_VALID = "server.cert_not_yet_valid"
SERVER_CHAIN_INCOMPLETE = "server.chain_incomplete"
SERVER_HOSTNAME_MISMATCH = "server.hostname_mismatch"
SERVER_UNTRUSTED_ROOT = "server.untrusted_root"
SERVER_SELF_SIGNED = "server.self_signed"
SERVER_REVOKED = "server.revoked"
SERVER_WEAK_SIGNATURE = "server.weak_signature"
SERVER_WEAK_KEY = "server.weak_key"
LEGACY_PROTOCOL_VERSION = "legacy.protocol_version"
LEGACY_CIPHER_SUITE = "legacy.cipher_suite"
NETWORK_DNS_FAILURE = "network.dns_failure"
NETWORK_CONNECT_FAILED = "network.connect_failed"
NETWORK_RESET = "network.reset"
NETWORK_NOT_TLS = "network.not_tls"
SITE_DEPENDENT_DOMAINS = "site.dependent_domains"
DOMAIN_NEWLY_PUBLISHED = "domain.newly_published"
PLATFORM_DEFAULT_BYPASS = "platform.default_bypass"
POLICY_BLOCKED = "policy.blocked"

# tlsdiag additions (no code in the shared table fitted).
SERVER_CHAIN_ORDER = "server.chain_order"
SERVER_CHAIN_EXTRA = "server.chain_extra"
SERVER_REVOCATION_UNKNOWN = "server.revocation_unknown"
SERVER_CERT_MALFORMED = "server.cert_malformed"
SERVER_CHAIN_INVALID = "server.chain_invalid"
SERVER_CERT_PROFILE = "server.cert_profile"

ALL_CODES: frozenset[str] = frozenset(
    value for name, value in dict(globals()).items() if name.isupper() and isinstance(value, str)
)
