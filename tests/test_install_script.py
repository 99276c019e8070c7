"""install.py, the step ComfyUI-Manager and `comfy node install` run after fetching the pack.

The wheel path end to end (a built wheel, a clean venv without a compiler) runs in
scripts/test.sh's wheel stage and, in real ComfyUI, in tests/test_comfyui_manager_install.py;
here: which wheels match, the already-installed shortcut, and the message without a compiler.
"""

from __future__ import annotations

import re
import subprocess
import sys
import venv

import pytest

from tests.conftest import REPO_ROOT, load_repo_file

install = load_repo_file("install.py", "ltx2eff_pack_install")


def test_pack_version_is_the_pyproject_line():
    text = (REPO_ROOT / "pyproject.toml").read_text()
    assert install.pack_version() == re.search(r'^version = "([^"]+)"$', text, re.MULTILINE).group(1)


def test_only_wheels_of_this_version_and_an_accepted_tag_match(tmp_path):
    names = [
        "ltx2_efficient-0.1.0-cp311-cp311-manylinux_2_35_x86_64.whl",
        "ltx2_efficient-0.1.0-cp312-cp312-manylinux_2_35_x86_64.whl",
        "ltx2_efficient-0.1.0-cp311-cp311-win_amd64.whl",
        "ltx2_efficient-0.0.9-cp311-cp311-manylinux_2_35_x86_64.whl",
        "other_pack-0.1.0-cp311-cp311-manylinux_2_35_x86_64.whl",
        "ltx2_efficient-0.1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    tags = {"cp311-cp311-manylinux_2_35_x86_64", "cp311-cp311-manylinux_2_17_x86_64", "py3-none-any"}
    found = [p.name for p in install.matching_wheels(tmp_path, "0.1.0", tags)]
    assert found == sorted([names[0], names[5]])


def test_this_interpreter_accepts_its_own_tags():
    tags = install.wheel_tags()
    major, minor = sys.version_info[:2]
    assert any(tag.startswith(f"cp{major}{minor}-cp{major}{minor}-") for tag in tags)


def test_already_installed_needs_nothing():
    result = subprocess.run([sys.executable, str(REPO_ROOT / "install.py")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is already installed" in result.stdout


def test_without_a_wheel_and_without_a_compiler_it_says_what_to_do(tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / ("Scripts" if sys.platform == "win32" else "bin") / "python"
    empty = tmp_path / "wheelhouse"
    empty.mkdir()
    env = {"PATH": str(python.parent), "LTX2EFF_WHEELHOUSE": str(empty)}
    if sys.platform == "win32":
        pytest.skip("PATH without a compiler is set up for POSIX here")
    result = subprocess.run(
        [str(python), str(REPO_ROOT / "install.py")], capture_output=True, text=True, env=env
    )
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert f"no ltx2-efficient {install.pack_version()} wheel for this Python" in out
    assert "there is no C++ compiler" in out and "LTX2EFF_WHEELHOUSE" in out
    assert "torch" not in out.lower()
