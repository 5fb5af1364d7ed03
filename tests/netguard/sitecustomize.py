"""Loaded by every Python subprocess the tests start: the same network guard as the tests."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guard  # type: ignore[import-not-found]  # this folder, put on sys.path just above

del sys.path[0]
guard.install()
