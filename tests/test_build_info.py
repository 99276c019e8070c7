"""One version everywhere, and a build that says what it contains and why.

The version is defined once in pyproject.toml; the core, the CLI, the Python module and the
wheel's metadata must all report it. The CUDA architecture choice (cmake/CudaArchitectures.cmake)
is checked by configuring with a stand-in nvidia-smi, so it runs without a GPU.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ltx2_efficient as le

ROOT = Path(__file__).resolve().parents[1]


def pyproject_version() -> str:
    # The same rule CMakeLists.txt applies: the one top-level `version = "..."` line.
    match = re.search(r'^version = "([^"]+)"$', (ROOT / "pyproject.toml").read_text(), re.MULTILINE)
    assert match is not None
    return match.group(1)


def ltx2eff_cli() -> str:
    exe = shutil.which("ltx2eff", path=str(Path(sys.executable).parent)) or shutil.which("ltx2eff")
    if exe is None:
        pytest.skip("the ltx2eff command is not installed next to this Python")
    return exe


def test_every_part_reports_the_pyproject_version():
    version = pyproject_version()
    assert le.__version__ == version
    assert le.build_info()["version"] == version
    assert importlib.metadata.version("ltx2-efficient") == version
    out = subprocess.run([ltx2eff_cli(), "version"], capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"ltx2eff {version}"


def test_build_info_matches_the_module():
    info = le.build_info()
    assert info["cuda_kernels"] is le.built_with_cuda
    assert info["cuda_architectures_reason"]
    if not info["cuda_kernels"]:
        assert info["cuda_architectures"] == []
        assert not le._core.cuda_kernels_cover(8, 6)


def test_info_command_reports_kernels_and_python_side():
    report = json.loads(
        subprocess.run([ltx2eff_cli(), "info", "--json"], capture_output=True, text=True, check=True).stdout
    )
    assert report["version"] == pyproject_version()
    assert report["cuda_kernels"] is le.built_with_cuda
    assert "generic" in report["cpu_isas"]
    assert isinstance(report["nvml"]["available"], bool)
    python = report["python"]
    assert python["package"] == pyproject_version()
    assert python["torch"]["installed"] is True
    text = subprocess.run([ltx2eff_cli(), "info"], capture_output=True, text=True, check=True).stdout
    assert "CUDA kernels:" in text and "torch:" in text and "to change the CUDA kernels" in text


def test_info_rejects_unknown_options():
    result = subprocess.run([ltx2eff_cli(), "info", "--bogus"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "bogus" in result.stderr


NVCC = shutil.which("nvcc")


def configure(tmp_path: Path, gpu_line: str | None, *defines: str, hide_gpus: bool = False) -> str:
    """Configure the C++ project (no build) and return the kernel summary line."""
    env = dict(os.environ)
    if gpu_line is not None:
        fake = tmp_path / "bin"
        fake.mkdir()
        smi = fake / "nvidia-smi"
        smi.write_text(f"#!/bin/sh\necho '{gpu_line}'\n")
        smi.chmod(0o755)
        env["PATH"] = f"{fake}{os.pathsep}{env['PATH']}"
    if hide_gpus:
        env["CUDA_VISIBLE_DEVICES"] = ""
    env.pop("CUDAARCHS", None)
    result = subprocess.run(
        ["cmake", "-S", str(ROOT), "-B", str(tmp_path / "build"), "-DLTX2EFF_BUILD_PYTHON=OFF", *defines],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    line = re.search(r"ltx2eff: building (.*)", result.stdout)
    assert line is not None, result.stdout
    assert "ltx2eff: to change it:" in result.stdout
    return line.group(1)


@pytest.mark.skipif(shutil.which("cmake") is None or NVCC is None, reason="needs cmake and nvcc")
@pytest.mark.parametrize(
    ("gpu_line", "defines", "hide", "expected"),
    [
        (
            "8.6, NVIDIA GeForce RTX 3060",
            (),
            False,
            "CUDA kernels for 86-real, the GPU visible at build time",
        ),
        ("8.6, NVIDIA GeForce RTX 3060", (), True, "CPU kernels only (no GPU visible"),
        (None, ("-DCMAKE_CUDA_ARCHITECTURES=89-real",), False, "CUDA kernels for 89-real, asked for"),
        (None, ("-DLTX2EFF_CUDA=ON",), False, "the release list"),
        (None, ("-DLTX2EFF_CUDA=OFF",), False, "CPU kernels only (LTX2EFF_CUDA=OFF)"),
    ],
)
def test_cuda_architectures_follow_the_machine(tmp_path, gpu_line, defines, hide, expected):
    if gpu_line is None and shutil.which("nvidia-smi") is not None and not defines:
        pytest.skip("a real GPU is visible")
    assert expected in configure(tmp_path, gpu_line, *defines, hide_gpus=hide)


def test_panel_bundle_states_the_pyproject_version():
    first_line = (ROOT / "web" / "ltx2eff_panel.js").read_text(encoding="utf-8").splitlines()[0]
    assert f"ltx2-efficient {pyproject_version()}," in first_line, first_line
    assert "version" not in json.loads((ROOT / "frontend" / "package.json").read_text()), (
        "the frontend takes its version from pyproject.toml; package.json must not define another"
    )
