"""``lab serve`` removes its temporary folder (``tlsdiag-lab-*``) on every exit path: SIGTERM
(exit 143) and Ctrl-C (SIGINT) included."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def _ctrl_c_as_in_a_terminal() -> None:
    """A test run started in the background of a shell (``pytest &``) ignores SIGINT, and a
    child inherits that, so Python would never raise KeyboardInterrupt: give the child a
    terminal's default, as a user pressing Ctrl-C has."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize(("sig", "codes"), [(signal.SIGTERM, (143,)), (signal.SIGINT, (0, 130))])
def test_lab_serve_cleans_its_temp_folder_on_signals(
    sig: signal.Signals, codes: tuple[int, ...]
) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "tlsdiag", "lab", "serve", "--case", "good"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ctrl_c_as_in_a_terminal,
    ) as proc:
        try:
            assert proc.stdout is not None and proc.stderr is not None
            first = proc.stdout.readline()
            match = re.search(r"lab root CA: (\S+)", first)
            assert match, first
            folder = Path(match.group(1)).parent
            assert folder.name.startswith("tlsdiag-lab-") and folder.is_dir()
            for line in proc.stdout:
                if line.startswith("Press Ctrl-C"):
                    break
            proc.send_signal(sig)
            code = proc.wait(timeout=30)
            err = proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
    assert code in codes, err
    assert not folder.exists()
