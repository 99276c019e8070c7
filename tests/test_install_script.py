"""install.py, the step ComfyUI-Manager and `comfy node install` run after fetching the pack.

The wheel path end to end (a built wheel, a clean venv without a compiler) runs in
scripts/test.sh's wheel stage and, in real ComfyUI, in tests/test_comfyui_manager_install.py;
here: which wheels match, the already-installed shortcut and the source hash that decides it,
Visual Studio found without a Developer Prompt, pip, uv and ComfyUI's portable Python, and the
messages without a compiler or an installer.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
import zipfile

import pytest

from tests.conftest import REPO_ROOT, load_repo_file

install = load_repo_file("install.py", "ltx2eff_pack_install")
VERSION = install.pack_version()


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


def fresh_venv(tmp_path, with_pip: bool):
    if sys.platform == "win32":
        pytest.skip("PATH without a compiler is set up for POSIX here")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=with_pip).create(env_dir)
    return env_dir / "bin" / "python"


def run_install(python, env):
    return subprocess.run(
        [str(python), str(REPO_ROOT / "install.py")],
        capture_output=True,
        text=True,
        env=env,
        cwd=python.parent,
    )


def test_without_a_wheel_and_without_a_compiler_it_says_what_to_do(tmp_path):
    python = fresh_venv(tmp_path, with_pip=True)
    empty = tmp_path / "wheelhouse"
    empty.mkdir()
    result = run_install(python, {"PATH": str(python.parent), "LTX2EFF_WHEELHOUSE": str(empty)})
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert f"no ltx2-efficient {VERSION} wheel for this Python" in out
    assert "there is no C++ compiler" in out and "LTX2EFF_WHEELHOUSE" in out
    assert "torch" not in out.lower()


# ---- Windows: Visual Studio without a Developer Prompt ----


def fake_vswhere(tmp_path, monkeypatch, output: str):
    """Program Files (x86) with a vswhere.exe that logs its arguments and prints `output`; PATH
    without any compiler."""
    program_files = tmp_path / "Program Files (x86)"
    installer_dir = program_files / "Microsoft Visual Studio" / "Installer"
    installer_dir.mkdir(parents=True)
    vswhere = installer_dir / "vswhere.exe"
    log = tmp_path / "vswhere-args"
    answer = tmp_path / "vswhere-output"
    answer.write_bytes(output.encode())
    vswhere.write_text(f'#!/bin/sh\necho "$@" > "{log}"\nexec /bin/cat "{answer}"\n')
    vswhere.chmod(0o755)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("CXX", raising=False)
    monkeypatch.setenv("ProgramFiles(x86)", str(program_files))
    return log


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in vswhere.exe is a shell script")
def test_windows_build_tools_are_found_through_vswhere(tmp_path, monkeypatch):
    log = fake_vswhere(tmp_path, monkeypatch, "C:\\BuildTools\r\n")
    assert install.find_compiler("win32") == r"MSVC from C:\BuildTools"
    assert log.read_text().split() == [
        "-products",
        "*",
        "-requires",
        "Microsoft.VisualStudio.Component.VC.Tools.x86.x64",
        "-property",
        "installationPath",
    ]
    # Elsewhere vswhere is not asked: no compiler on PATH is no compiler.
    assert install.find_compiler("linux") is None


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in vswhere.exe is a shell script")
def test_windows_without_the_cpp_toolset_says_what_to_install(tmp_path, monkeypatch, capsys):
    fake_vswhere(tmp_path, monkeypatch, "")  # Visual Studio without the C++ workload
    assert install.find_compiler("win32") is None
    monkeypatch.setenv("ProgramFiles(x86)", str(tmp_path / "nowhere"))
    assert install.find_compiler("win32") is None
    monkeypatch.setattr(install, "find_compiler", lambda: None)
    assert install.build_from_source(VERSION) is False
    out = capsys.readouterr().out
    assert "there is no C++ compiler" in out and "Visual Studio Build Tools" in out


# ---- pip, uv and ComfyUI's portable Python ----


def test_portable_python_runs_pip_with_dash_s(monkeypatch):
    portable = r"C:\ComfyUI_windows_portable\python_embeded\python.exe"
    assert install.python_command(portable) == [portable, "-s"]
    assert install.python_command("/srv/comfy/venv/bin/python") == ["/srv/comfy/venv/bin/python"]
    monkeypatch.setattr(install.sys, "executable", portable)
    monkeypatch.setattr(install, "has_pip", lambda: True)
    assert install.installer()[:4] == [portable, "-s", "-m", "pip"]


def test_without_pip_uv_installs_into_this_python(monkeypatch):
    monkeypatch.setattr(install, "has_pip", lambda: False)
    monkeypatch.setattr(install.shutil, "which", lambda name: "/opt/uv/bin/uv" if name == "uv" else None)
    assert install.installer() == ["/opt/uv/bin/uv", "pip", "install", "--python", sys.executable]
    monkeypatch.setattr(install.shutil, "which", lambda name: None)
    assert install.installer() is None


def test_a_venv_without_pip_uses_uv_from_path(tmp_path):
    python = fresh_venv(tmp_path, with_pip=False)
    log = tmp_path / "uv-args"
    uv = python.parent / "uv"
    uv.write_text(f'#!/bin/sh\necho "$@" >> "{log}"\nexit 1\n')
    uv.chmod(0o755)
    house = tmp_path / "wheelhouse"
    house.mkdir()
    wheel = make_wheel(house, f"ltx2_efficient-{VERSION}-py3-none-any.whl", install.source_hash())
    result = run_install(python, {"PATH": str(python.parent), "LTX2EFF_WHEELHOUSE": str(house)})
    assert result.returncode == 1, result.stdout + result.stderr
    args = log.read_text().split()
    assert args[:4] == ["pip", "install", "--python", str(python)] and str(wheel) in args
    assert "--no-index" in args and "-m pip" not in result.stdout


def test_a_venv_without_pip_or_uv_says_how_to_get_pip(tmp_path):
    python = fresh_venv(tmp_path, with_pip=False)
    result = run_install(python, {"PATH": str(python.parent)})
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if "ensurepip" in line]
    assert len(lines) == 1, result.stdout
    assert "has no pip" in lines[0] and f'"{python}" -m ensurepip' in lines[0]


# ---- the source hash: same version, other sources ----


def make_wheel(folder, name, sources):
    path = folder / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ltx2_efficient/__init__.py", "")
        if sources is not None:
            archive.writestr("ltx2_efficient/_source_hash.txt", sources + "\n")
    return path


def fake_pack(root):
    for rel, text in {
        "CMakeLists.txt": "project(x)\n",
        "pyproject.toml": 'version = "1.0.0"\n',
        "cmake/Mod.cmake": "set(A 1)\n",
        "cpp/src/a.cpp": "int a() { return 1; }\n",
        "python/pkg/__init__.py": "X = 1\n",
        "README.md": "readme\n",
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_source_hash_covers_the_build_inputs_only(tmp_path):
    pack = fake_pack(tmp_path / "pack")
    first = install.source_hash(pack)
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    for rel in (
        "README.md",
        "build/cp311/CMakeCache.txt",
        "wheelhouse/x.whl",
        "frontend/node_modules/m/index.js",
        "cpp/build/obj.o",
        "python/pkg/__pycache__/a.cpython-311.pyc",
        "python/pkg/_core.cpython-311-x86_64-linux-gnu.so",
        "python/pkg.egg-info/PKG-INFO",
    ):
        (pack / rel).parent.mkdir(parents=True, exist_ok=True)
        (pack / rel).write_text("changed\n")
    assert install.source_hash(pack) == first
    # A Windows checkout (git's autocrlf) has the same sources.
    (pack / "cpp/src/a.cpp").write_bytes(b"int a() { return 1; }\r\n")
    assert install.source_hash(pack) == first
    for rel in (
        "cpp/src/a.cpp",
        "cmake/Mod.cmake",
        "python/pkg/__init__.py",
        "pyproject.toml",
        "CMakeLists.txt",
    ):
        before = (pack / rel).read_text()
        (pack / rel).write_text(before + "// changed\n")
        assert install.source_hash(pack) != first, rel
        (pack / rel).write_text(before)
    (pack / "cpp/src/b.cpp").write_text("")
    assert install.source_hash(pack) != first


@pytest.mark.skipif(shutil.which("cmake") is None, reason="needs cmake")
def test_the_build_installs_the_same_hash_next_to_the_module(tmp_path):
    """What a configure writes and installs into ltx2_efficient/ is install.py's value (for a
    copy of the sources, which stay still while it runs)."""
    pack = tmp_path / "pack"
    ignore = shutil.ignore_patterns("build", "__pycache__", "*.so")
    pack.mkdir()
    for name in ("CMakeLists.txt", "pyproject.toml"):
        shutil.copy2(REPO_ROOT / name, pack / name)
    for name in ("cmake", "cpp", "python"):
        shutil.copytree(REPO_ROOT / name, pack / name, ignore=ignore)
    build = tmp_path / "build"
    result = subprocess.run(
        [
            "cmake",
            "-S",
            str(pack),
            "-B",
            str(build),
            "-DLTX2EFF_CUDA=OFF",
            "-DLTX2EFF_BUILD_PYTHON=ON",
            f"-DPython_EXECUTABLE={sys.executable}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if k != "CUDAARCHS"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    recorded = (build / "ltx2eff" / "_source_hash.txt").read_text().strip()
    assert recorded == install.source_hash(pack)
    rules = (build / "cmake_install.cmake").read_text()
    assert re.search(r'ltx2_efficient".*_source_hash\.txt', rules), rules


class Recorder:
    def __init__(self, result=True):
        self.calls = []
        self.result = result

    def __call__(self, *args):
        self.calls.append(args)
        return self.result


def prepare_main(monkeypatch, states, *, location=None):
    """main() with the probe answering `states` in turn and the installing steps recorded."""
    answers = iter(states)
    monkeypatch.setattr(install, "installed_state", lambda: next(answers))
    monkeypatch.setattr(install, "installer", lambda: ["pip", "install"])
    monkeypatch.setattr(install, "wheelhouse", lambda: location)
    monkeypatch.setattr(install, "install_dependencies", lambda: True)
    build, wheel = Recorder(), Recorder()
    monkeypatch.setattr(install, "build_from_source", build)
    monkeypatch.setattr(install, "install_from_wheelhouse", wheel)
    return build, wheel


def state(sources, editable=False):
    return {"version": VERSION, "sources": sources, "editable": editable}


def test_same_version_and_sources_is_left_alone(monkeypatch, capsys):
    build, wheel = prepare_main(monkeypatch, [state(install.source_hash())])
    assert install.main() == 0
    assert "is already installed" in capsys.readouterr().out
    assert not build.calls and not wheel.calls


def test_same_version_from_other_sources_is_installed_again(monkeypatch, capsys):
    sources = install.source_hash()
    for old in ("0" * 64, None):  # other sources, or a build that recorded none
        build, _wheel = prepare_main(monkeypatch, [state(old), state(sources)])
        assert install.main() == 0
        out = capsys.readouterr().out
        reinstall = [line for line in out.splitlines() if "built from other sources" in line]
        assert len(reinstall) == 1 and "installing it again" in reinstall[0], out
        assert sources[:12] in reinstall[0]
        assert build.calls == [(VERSION,)]


def test_an_editable_install_is_left_to_its_developer(monkeypatch, capsys):
    build, _wheel = prepare_main(monkeypatch, [state("0" * 64, editable=True)])
    assert install.main() == 0
    assert "editable" in capsys.readouterr().out and not build.calls


def test_a_wheel_from_an_index_built_from_other_sources_is_rebuilt(monkeypatch, capsys):
    sources = install.source_hash()
    build, wheel = prepare_main(
        monkeypatch, [None, state("1" * 64), state(sources)], location="https://example.invalid/wheels/"
    )
    assert install.main() == 0
    assert wheel.calls == [("https://example.invalid/wheels/", VERSION, sources)]
    assert build.calls == [(VERSION,)]
    assert "building from source instead" in capsys.readouterr().out


def test_a_wheel_in_the_wheelhouse_is_taken_only_if_built_from_these_sources(tmp_path, monkeypatch, capsys):
    sources = install.source_hash()
    tag = sorted(install.wheel_tags())[0]
    stale = make_wheel(tmp_path, f"ltx2_efficient-{VERSION}-{tag}.whl", "2" * 64)
    calls = []
    monkeypatch.setattr(install, "pip", lambda *args: calls.append(args) or 0)
    assert install.install_from_folder(tmp_path, VERSION, sources) is False
    assert "built from other sources" in capsys.readouterr().out and not calls
    fitting = make_wheel(tmp_path, f"ltx2_efficient-{VERSION}-py3-none-any.whl", sources)
    assert install.wheel_sources(fitting) == sources and install.wheel_sources(stale) == "2" * 64
    assert install.install_from_folder(tmp_path, VERSION, sources) is True
    assert len(calls) == 1 and calls[0][-1] == str(fitting) and "--no-index" in calls[0]
    assert install.wheel_sources(make_wheel(tmp_path, "old.whl", None)) is None


# ---- registry metadata ----


def test_registry_metadata_is_complete_where_the_repository_can_fill_it():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    comfy = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["comfy"]
    for key in ("PublisherId", "DisplayName", "Icon"):
        assert isinstance(comfy.get(key), str) and comfy[key], key
    assert "wheelhouse" in comfy["includes"]
