"""Shared pytest fixtures."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def ltx2eff_cli() -> str:
    """Path of the installed C++ ``ltx2eff`` command (next to this Python, or on PATH)."""
    candidate = Path(sys.executable).parent / ("ltx2eff.exe" if os.name == "nt" else "ltx2eff")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("ltx2eff")
    if found is None:
        pytest.fail("the ltx2eff command is not installed (run `pip install .`)")
    return found
