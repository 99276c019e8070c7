"""The pack installed the way ComfyUI-Manager installs it, into a fresh venv, in real ComfyUI.

Runs when ``COMFYUI_DIR`` points at a ComfyUI checkout whose requirements are installed in this
Python; skipped otherwise. ComfyUI-Manager (glob/manager_core.py, execute_install_script) and
comfy-cli (``comfy node install`` through the Manager's cm-cli; ``registry-install``) put the
pack into custom_nodes/, run ``pip install`` for each line of its requirements.txt if there is
one, then ``python install.py`` in the pack's folder with ComfyUI's Python. This test does the
same with a copy of this checkout, in a new virtualenv that sees this environment's packages
(torch, ComfyUI's requirements) but not its ltx2_efficient, with a wheelhouse holding one wheel
built from this checkout (or LTX2EFF_TEST_WHEELHOUSE). It starts ComfyUI on that venv
(``--base-directory`` with its own custom_nodes/) and checks over HTTP:

- installed: every node of the manifest is listed as the real one, and torch was not touched;
- not installed (a second fresh venv, install.py not run): the same node ids with the same
  inputs, a run of one fails with the one message naming install.py, the panel's routes answer
  503 with it, and a workflow of ComfyUI's own nodes still runs.

LTX2EFF_TEST_COMFY_PORT sets the port (default 8193).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import venv
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import REPO_ROOT

COMFYUI_DIR = os.environ.get("COMFYUI_DIR", "")
pytestmark = pytest.mark.skipif(not COMFYUI_DIR, reason="COMFYUI_DIR is not set to a ComfyUI checkout")

PORT = int(os.environ.get("LTX2EFF_TEST_COMFY_PORT", "8193"))
# Every node the pack registers, from the manifest its placeholders are made from (kept equal to
# the node ids and the real nodes by tests/test_pack_without_core.py).
NODE_IDS = [
    node["name"]
    for node in json.loads(
        (REPO_ROOT / "python" / "ltx2_efficient" / "hosts" / "comfyui" / "node_manifest.json").read_text()
    )["nodes"]
]


def _site_packages(prefix: Path) -> Path:
    found = sorted(prefix.glob("lib/python3*/site-packages")) or sorted(prefix.glob("Lib/site-packages"))
    assert found, f"no site-packages under {prefix}"
    return found[0]


def _fresh_venv(root: Path) -> Path:
    """A new venv whose only extra packages are this environment's, minus ltx2_efficient."""
    view = root / "deps-view"
    view.mkdir(parents=True)
    for site in {Path(p) for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()}:
        for entry in site.iterdir():
            if (
                entry.name.lower().startswith(("ltx2_efficient", "ltx2-efficient"))
                or (view / entry.name).exists()
            ):
                continue
            (view / entry.name).symlink_to(entry)
    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    (_site_packages(env_dir) / "zz_comfyui_deps.pth").write_text(f"{view}\n")
    return env_dir / "bin" / "python"


def _copy_pack(custom_nodes: Path) -> Path:
    """What a git clone of this checkout holds (tracked and new files, nothing ignored)."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO_ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    pack = custom_nodes / "ltx2-efficient"
    for name in filter(None, files):
        source = REPO_ROOT / name.decode()
        if source.is_file():
            target = pack / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return pack


def _manager_install(python: Path, pack: Path, wheelhouse: Path) -> str:
    """ComfyUI-Manager's execute_install_script: requirements.txt line by line, then install.py."""
    env = dict(os.environ, LTX2EFF_WHEELHOUSE=str(wheelhouse), COMFYUI_FOLDERS_BASE_PATH=COMFYUI_DIR)
    requirements = pack / "requirements.txt"
    if requirements.exists():
        for line in requirements.read_text().splitlines():
            line = line.split("#")[0].strip()
            if line:
                subprocess.run([str(python), "-m", "pip", "install", line], cwd=pack, env=env, check=True)
    result = subprocess.run([str(python), "install.py"], cwd=pack, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory) -> Path:
    given = os.environ.get("LTX2EFF_TEST_WHEELHOUSE")
    if given:
        return Path(given)
    house = tmp_path_factory.mktemp("wheelhouse")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-build-isolation", "--no-deps", "-w", str(house),
         f"-Cbuild-dir={REPO_ROOT / 'build' / 'manager-test-wheel'}", "-Ccmake.define.LTX2EFF_CUDA=OFF", str(REPO_ROOT)],
        check=True,
    )  # fmt: skip
    return house


class ComfyServer:
    def __init__(self, python: Path, base: Path) -> None:
        self.url = f"http://127.0.0.1:{PORT}"
        self.log = base / "server.log"
        command = [str(python), "main.py", "--cpu", "--base-directory", str(base), "--listen", "127.0.0.1",
                   "--port", str(PORT), "--disable-auto-launch"]  # fmt: skip
        self.process = subprocess.Popen(
            command, cwd=COMFYUI_DIR, stdout=self.log.open("w"), stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"ComfyUI exited: {self.log.read_text()[-3000:]}")
            try:
                self.object_info = self.get("/object_info")
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(1)
        self.stop()
        pytest.fail(f"ComfyUI did not start in 300 s: {self.log.read_text()[-3000:]}")

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=30) as response:
            return json.loads(response.read())

    def status(self, path: str) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def run(self, prompt: dict) -> dict:
        """Queue an API-format prompt and wait for its history entry."""
        body = json.dumps({"prompt": prompt}).encode()
        request = urllib.request.Request(self.url + "/prompt", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            prompt_id = json.loads(response.read())["prompt_id"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            history = self.get(f"/history/{prompt_id}")
            if prompt_id in history and history[prompt_id].get("status", {}).get("completed") is not None:
                entry = history[prompt_id]
                if entry["status"]["status_str"] in ("success", "error"):
                    return entry
            time.sleep(0.5)
        pytest.fail(f"prompt {prompt_id} did not finish: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="module")
def installed(tmp_path_factory, wheelhouse):
    root = tmp_path_factory.mktemp("manager-installed")
    python = _fresh_venv(root)
    pack = _copy_pack(root / "base" / "custom_nodes")
    out = _manager_install(python, pack, wheelhouse)
    server = ComfyServer(python, root / "base")  # one port for both servers: stopped right away
    try:
        presets = server.status("/ltx2eff/presets")
    finally:
        server.stop()
    return SimpleNamespace(object_info=server.object_info, presets=presets, out=out, python=python)


@pytest.fixture(scope="module")
def not_installed(tmp_path_factory):
    root = tmp_path_factory.mktemp("manager-not-installed")
    python = _fresh_venv(root)
    _copy_pack(root / "base" / "custom_nodes")
    server = ComfyServer(python, root / "base")
    yield server
    server.stop()


def _input_names(info: dict) -> list[str]:
    return [*info["input"].get("required", {}), *info["input"].get("optional", {})]


def test_install_takes_the_wheel_and_leaves_torch_alone(installed, wheelhouse):
    assert f"from {wheelhouse}" in installed.out and "installed; restart ComfyUI" in installed.out
    site = _site_packages(installed.python.parent.parent)
    assert (site / "ltx2_efficient").is_dir()
    assert not list(site.glob("torch*")), "install.py put a torch into the venv"


def test_installed_nodes_register(installed):
    for node_id in NODE_IDS:
        info = installed.object_info[node_id]
        assert not info["description"].startswith("Not installed"), node_id
    status, presets = installed.presets
    assert status == 200 and presets


def test_without_the_package_the_same_nodes_appear(installed, not_installed):
    real = installed
    for node_id in NODE_IDS:
        placeholder = not_installed.object_info[node_id]
        assert placeholder["description"].startswith("Not installed"), node_id
        assert _input_names(placeholder) == _input_names(real.object_info[node_id]), node_id
        assert placeholder["output"] == real.object_info[node_id]["output"], node_id
        assert placeholder["display_name"] == real.object_info[node_id]["display_name"]


def test_without_the_package_a_run_fails_once_with_the_install_message(not_installed):
    prompt = {
        "1": {
            "class_type": "EmptyLTXVLatentVideo",
            "inputs": {"width": 128, "height": 64, "length": 9, "batch_size": 1},
        },
        "2": {"class_type": "LTX2LatentInterpolate", "inputs": {"samples": ["1", 0], "frames": 9}},
        "3": {
            "class_type": "SaveLatent",
            "inputs": {"samples": ["2", 0], "filename_prefix": "ltx2eff_manager_test"},
        },
    }
    entry = not_installed.run(prompt)
    assert entry["status"]["status_str"] == "error"
    errors = [m for m in entry["status"]["messages"] if m[0] == "execution_error"]
    assert len(errors) == 1
    message = errors[0][1]["exception_message"]
    assert errors[0][1]["node_type"] == "LTX2LatentInterpolate"
    assert "install.py" in message and "not importable in ComfyUI's Python" in message
    status, body = not_installed.status("/ltx2eff/presets")
    assert status == 503 and body["error"] == message.strip()


def test_without_the_package_the_rest_of_comfyui_works(not_installed):
    assert "KSampler" in not_installed.object_info
    prompt = {
        "1": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
        "2": {
            "class_type": "SaveLatent",
            "inputs": {"samples": ["1", 0], "filename_prefix": "ltx2eff_manager_core"},
        },
    }
    assert not_installed.run(prompt)["status"]["status_str"] == "success"
