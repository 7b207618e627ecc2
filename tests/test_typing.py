"""The package passes ``mypy --strict``, and a typed user of it checks against the stubs.

``tests/typing/usage.py`` calls the public API (and the compiled module through
``_core.pyi``) as a user would; mypy fails when a stub or annotation drifts from it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy")

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_strict(tmp_path: Path) -> None:
    cmd = [
        sys.executable, "-m", "mypy", "--strict",
        "--config-file", str(ROOT / "pyproject.toml"),
        "--cache-dir", str(tmp_path / "mypy_cache"),
        "src/turborle", "tests/typing/usage.py",
    ]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, (
        f"{' '.join(cmd[2:])} failed:\n{result.stdout}{result.stderr}")
