"""Loaded by every Python subprocess the tests start: the same network guard as the tests.

This folder is on the subprocess's PYTHONPATH (tests/conftest.py puts it there); its parent,
tests/, goes on sys.path for a moment so the guard imports as ``netguard.guard``, the same
module name the tests use.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from netguard import guard

del sys.path[0]
guard.install()
