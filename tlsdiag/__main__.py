"""``python -m tlsdiag``."""

from tlsdiag.cli.app import main

main()
