"""tlsdiag: troubleshoot TLS inspection from the client's point of view."""

__version__ = "0.1.0"
