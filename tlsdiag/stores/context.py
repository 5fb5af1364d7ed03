"""Where and how the trust-store engine looks: the ``StoreContext`` (environment, home,
platform, filesystem root, command runner) and the context of the real machine.

Nothing in the engine reads ``os.environ``, the home directory or the clock by itself: everything
comes from a ``StoreContext`` (the CLI builds it with ``machine_context``; tests build fake homes
and a fake filesystem root in temporary directories).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tlsdiag.facts.ids import Platform
from tlsdiag.stores.platform_stores import CommandResult, RegistryHas, Runner, WindowsEnum


def subprocess_runner(env: Mapping[str, str], timeout: float = 10.0) -> Runner:
    """A runner that executes argv with ``env`` (None when the program is not on its PATH)."""

    def run(argv: Sequence[str]) -> CommandResult | None:
        exe = shutil.which(argv[0], path=env.get("PATH", ""))
        if exe is None:
            return None
        try:
            proc = subprocess.run(
                [exe, *argv[1:]],
                env=dict(env),
                capture_output=True,
                timeout=timeout,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            return CommandResult(127, b"", str(exc).encode())
        return CommandResult(proc.returncode, proc.stdout, proc.stderr)

    return run


@dataclass(frozen=True)
class StoreContext:
    """Where and how to look: environment, home directory, platform, filesystem root.

    Attributes:
        env: the environment the audited tools would see (the CLI passes ``os.environ``).
        home: the user's home directory.
        platform: ``linux``, ``macos`` or ``windows``.
        fs_root: absolute paths of the catalogue are read below this directory (``/``).
        certifi_path: ``certifi.where()`` of the interpreter to report on ("" = none).
        openssl_cafile / openssl_capath: OpenSSL's compiled-in defaults.
        run: command runner (``security``, ``pip --version``); default: real subprocesses.
        windows_enum: ``ssl.enum_certificates`` or a replay of it.
        registry_has: does a registry key exist (``HKLM\\...\\<SHA1>``).
    """

    env: Mapping[str, str]
    home: Path
    platform: Platform
    fs_root: Path = Path("/")
    certifi_path: str = ""
    openssl_cafile: str = ""
    openssl_capath: str = ""
    run: Runner | None = None
    windows_enum: WindowsEnum | None = None
    registry_has: RegistryHas | None = None
    _cache: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def runner(self) -> Runner:
        """The command runner (real subprocesses unless one was given)."""
        if self.run is None:
            if "runner" not in self._cache:
                self._cache["runner"] = subprocess_runner(self.env)
            runner: Runner = self._cache["runner"]
            return runner
        return self.run

    def which(self, command: str) -> str | None:
        """``command`` on the context's PATH."""
        return shutil.which(command, path=self.env.get("PATH", ""))


_PLATFORMS = {"darwin": Platform.MACOS, "win32": Platform.WINDOWS}  # sys.platform; else linux


def machine_context(
    env: Mapping[str, str],
    home: Path,
    *,
    platform: Platform | None = None,
    certifi_path: str | None = None,
) -> StoreContext:
    """The context of the real machine (the CLI passes ``os.environ`` and ``Path.home()``)."""
    import ssl
    import sys

    plat = platform or _PLATFORMS.get(sys.platform, Platform.LINUX)
    if certifi_path is None:
        try:
            import certifi

            certifi_path = certifi.where()
        except ImportError:
            certifi_path = ""
    paths = ssl.get_default_verify_paths()
    windows_enum: WindowsEnum | None = None
    registry_has: RegistryHas | None = None
    if plat is Platform.WINDOWS and hasattr(ssl, "enum_certificates"):
        windows_enum = ssl.enum_certificates
        registry_has = _winreg_has()
    return StoreContext(
        env=dict(env),
        home=home,
        platform=plat,
        certifi_path=certifi_path,
        openssl_cafile=paths.openssl_cafile or "",
        openssl_capath=paths.openssl_capath or "",
        windows_enum=windows_enum,
        registry_has=registry_has,
    )


def _winreg_has() -> RegistryHas | None:  # pragma: no cover - Windows only
    try:
        import importlib

        winreg: Any = importlib.import_module("winreg")
    except ImportError:
        return None
    hives = {"HKLM": winreg.HKEY_LOCAL_MACHINE, "HKCU": winreg.HKEY_CURRENT_USER}

    def has(key: str) -> bool:
        hive, _, sub = key.partition("\\")
        try:
            winreg.CloseKey(winreg.OpenKey(hives[hive], sub))
        except (OSError, KeyError):
            return False
        return True

    return has
