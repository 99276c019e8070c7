"""The V3 API fake (tests/comfy_api_fake.py) against ComfyUI's real comfy_api: with COMFYUI_DIR
set, every node of the pack gives the same /object_info entry under both (the CI runs the fake)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
DUMP = (
    "import json, sys; sys.path.insert(0, %r); import comfy_api_fake; assert comfy_api_fake.install(); "
    "from ltx2_efficient.hosts.comfyui.registry import node_classes; "
    "print(json.dumps({c.GET_SCHEMA().node_id: c.GET_NODE_INFO_V1() for c in node_classes()}))"
)


def _infos_with_the_fake() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "COMFYUI_DIR"}
    out = subprocess.run(
        [sys.executable, "-c", DUMP % str(TESTS)], capture_output=True, text=True, check=True, env=env
    )
    return json.loads(out.stdout)


def test_the_fake_gives_comfyuis_node_infos():
    if not os.environ.get("COMFYUI_DIR"):
        pytest.skip("COMFYUI_DIR is not set to a ComfyUI checkout")
    import comfy_api.latest  # the real one (tests/conftest.py put COMFYUI_DIR on the path)

    assert getattr(comfy_api.latest, "__file__", None), "the real comfy_api is not loaded"
    from ltx2_efficient.hosts.comfyui.registry import node_classes

    real = {c.GET_SCHEMA().node_id: json.loads(json.dumps(c.GET_NODE_INFO_V1())) for c in node_classes()}
    fake = _infos_with_the_fake()
    assert set(real) == set(fake)
    for node_id in real:
        real[node_id].pop("python_module")
        fake[node_id].pop("python_module")
        assert fake[node_id] == real[node_id], node_id
    assert comfy_api.latest.io.ComfyNode is not None


def test_the_fake_dumps_every_node():
    infos = _infos_with_the_fake()
    from ltx2_efficient.hosts.comfyui.node_ids import DISPLAY_NAMES

    assert set(infos) == set(DISPLAY_NAMES) and all(info["input"]["required"] for info in infos.values())
