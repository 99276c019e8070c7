"""The pack without its compiled package: placeholders under the real node ids and inputs.

Loads the pack's __init__.py the way ComfyUI does (by file path), in a child Python where
`ltx2_efficient` cannot be imported, and checks what it registers. The real-ComfyUI side (the
nodes listed by the server, a run's error, the rest of ComfyUI working) is in
tests/test_comfyui_manager_install.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ltx2_efficient.hosts.comfyui import node_ids, unavailable
from tests.conftest import REPO_ROOT

MANIFEST = REPO_ROOT / "python" / "ltx2_efficient" / "hosts" / "comfyui" / "node_manifest.json"

CHILD = r"""
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("pack_under_test", sys.argv[1] + "/__init__.py")
pack = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pack)
report = {"web": pack.WEB_DIRECTORY, "names": pack.NODE_DISPLAY_NAME_MAPPINGS, "nodes": {}}
for node_id, cls in pack.NODE_CLASS_MAPPINGS.items():
    entry = {"inputs": cls.INPUT_TYPES(), "outputs": list(cls.RETURN_TYPES),
             "placeholder": getattr(cls, "LTX2EFF_PLACEHOLDER", False)}
    try:
        getattr(cls(), cls.FUNCTION)()
    except RuntimeError as exc:
        entry["error"] = str(exc)
    report["nodes"][node_id] = entry
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def without_core(tmp_path_factory):
    """What the pack registers when `import ltx2_efficient` fails (a stand-in package that raises
    the ImportError a missing compiled module gives shadows the installed one)."""
    shadow = tmp_path_factory.mktemp("shadow")
    (shadow / "ltx2_efficient").mkdir()
    (shadow / "ltx2_efficient" / "__init__.py").write_text(
        "raise ImportError(\"No module named 'ltx2_efficient._core'\")\n"
    )
    # -S: no site-packages, as in a Python without the package; an editable install's import
    # hook (a .pth there) would otherwise find the real package ahead of PYTHONPATH.
    result = subprocess.run(
        [sys.executable, "-S", "-c", CHILD, str(REPO_ROOT)],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(shadow), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result.stderr


def test_every_node_id_is_registered_with_its_display_name(without_core):
    report, _log = without_core
    assert report["names"] == node_ids.DISPLAY_NAMES
    assert list(report["nodes"]) == list(node_ids.DISPLAY_NAMES)
    assert report["web"] == "./web"
    assert all(entry["placeholder"] for entry in report["nodes"].values())


def test_placeholders_keep_the_real_inputs_and_outputs(without_core):
    report, _log = without_core
    for info in unavailable.load_manifest(MANIFEST):
        entry = report["nodes"][info["name"]]
        real = [*info["input"].get("required", {}), *info["input"].get("optional", {})]
        assert list(entry["inputs"]["optional"]) == real, info["name"]
        assert entry["inputs"]["required"] == {}
        assert entry["outputs"] == info["output"]


def test_running_one_raises_what_to_install(without_core):
    report, log = without_core
    for node_id, entry in report["nodes"].items():
        message = entry["error"]
        assert "install.py" in message and sys.executable in message, node_id
        assert "No module named 'ltx2_efficient._core'" in message
    assert "cannot run" in log  # logged once at load, with the same message
    assert log.count("cannot run") == 1


def _node_classes_loadable() -> bool:
    classes = unavailable.current_node_classes()
    return all(hasattr(c, "INPUT_TYPES") or hasattr(c, "GET_NODE_INFO_V1") for c in classes)


def test_manifest_matches_the_real_nodes():
    if not _node_classes_loadable():
        pytest.skip("the node classes need real ComfyUI to describe themselves (COMFYUI_DIR tests check it)")
    command = "python -m ltx2_efficient.hosts.comfyui.unavailable --write " + str(
        MANIFEST.relative_to(REPO_ROOT)
    )
    assert unavailable.main(["--check", str(MANIFEST)]) == 0, f"node_manifest.json is stale: run {command}"


def test_manifest_ids_are_the_node_ids():
    assert [info["name"] for info in unavailable.load_manifest(MANIFEST)] == list(node_ids.DISPLAY_NAMES)
    assert {
        i["name"]: i["display_name"] for i in unavailable.load_manifest(MANIFEST)
    } == node_ids.DISPLAY_NAMES


def test_fallback_routes_are_only_added_inside_comfyui():
    assert unavailable.register_error_routes("message") is False


def test_placeholder_class_shape():
    info = {"name": "X", "input": {"required": {"a": ["INT", {"default": 1}]}}, "output": ["LATENT"]}
    cls = unavailable.make_placeholder(info, "install it")
    assert cls.INPUT_TYPES() == {"required": {}, "optional": {"a": ("INT", {"default": 1})}}
    assert cls.RETURN_TYPES == ("LATENT",) and not hasattr(cls, "OUTPUT_IS_LIST")
    with pytest.raises(RuntimeError, match="install it"):
        cls().unavailable(a=1)
    assert Path(unavailable.MANIFEST).name == "node_manifest.json"
