"""Run ``uno_calc.py`` under the interpreter that has LibreOffice's ``uno``.

Without LibreOffice a test using this is skipped on a developer's machine and
fails in CI (``CI`` set), where ``.ci/run`` installs it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).with_name("uno_calc.py")
CANDIDATES = ("/usr/bin/python3", "/usr/lib/libreoffice/program/python")


def uno_python() -> str | None:
    if shutil.which("soffice") is None:
        return None
    for exe in CANDIDATES:
        if Path(exe).exists():
            ok = subprocess.run([exe, "-c", "import uno"], capture_output=True).returncode == 0
            if ok:
                return exe
    return None


def require_lo() -> str:
    exe = uno_python()
    if exe is None:
        msg = "LibreOffice with python3-uno is not installed"
        if os.environ.get("CI"):
            pytest.fail(msg + " (CI must install it: see .ci/run)")
        pytest.skip(msg)
    return exe


def run_lo(request: dict[str, Any], timeout: float = 1200) -> dict[str, Any]:
    exe = require_lo()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    proc = subprocess.run([exe, str(SCRIPT)], input=json.dumps(request), capture_output=True,
                          text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        raise AssertionError(f"LibreOffice bridge failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout)
