"""A small sans-IO TLS wire codec for scanning: ClientHello encoder, ServerHello / alert parser.

No sockets and no crypto: ``hello.client_hello`` returns the bytes of one ClientHello record,
``reply.parse_reply`` reads what a server sent back (ServerHello, HelloRetryRequest, alert, or
bytes that are not TLS). Version and suite detection therefore does not depend on what the
local OpenSSL allows (SSL 3.0 and export suites included), as in testssl.sh and sslyze.
"""
