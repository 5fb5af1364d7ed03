"""Where and how the trust-store engine looks: the ``StoreContext`` (environment, home,
platform, filesystem root, command runner) and the context of the real machine.

Nothing in the engine reads ``os.environ``, the home directory or the clock by itself: everything
comes from a ``StoreContext`` (the CLI builds it with ``machine_context``; tests build fake homes
and a fake filesystem root in temporary directories).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tlsdiag.facts.ids import Platform
from tlsdiag.model import platform_name
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


def _own_certifi() -> str:
    try:
        import certifi
    except ImportError:
        return ""
    return str(certifi.where())


def user_certifi(run: Runner, env: Mapping[str, str], own_prefix: str) -> str:
    """``certifi.where()`` of the Python the user's apps run (``python3`` on PATH), "" if none.

    tlsdiag's own certifi counts only when that Python is tlsdiag's interpreter (its
    ``sys.prefix``): a virtual environment or pipx install of tlsdiag is not where the user's
    apps look.
    """
    path = env.get("PATH", "")
    exe = shutil.which("python3", path=path) or shutil.which("python", path=path)
    if exe is None:
        return ""
    parent = Path(exe).parent
    if parent.parent == Path(own_prefix) or parent == Path(own_prefix):
        return _own_certifi()
    result = run([exe, "-c", "import certifi; print(certifi.where())"])
    if result is None or result.returncode != 0:
        return ""
    where = result.stdout.decode("utf-8", "replace").strip().splitlines()
    return where[-1].strip() if where and Path(where[-1].strip()).is_file() else ""


def machine_context(
    env: Mapping[str, str],
    home: Path,
    *,
    platform: Platform | None = None,
    certifi_path: str | None = None,
) -> StoreContext:
    """The context of the real machine (the CLI passes ``os.environ`` and ``Path.home()``)."""
    import ssl

    plat = platform or Platform(platform_name(other="linux"))
    if certifi_path is None:
        certifi_path = user_certifi(subprocess_runner(env, timeout=5.0), env, sys.prefix)
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
