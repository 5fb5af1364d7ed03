"""Loaded by every Python subprocess the tests start: the same network guard as the tests."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guard

del sys.path[0]
guard.install()
