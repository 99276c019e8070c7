"""The stand-in ComfyUI server of the panel's end-to-end test serves what the frontend needs."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from ltx2_efficient.hosts.comfyui import routes
from ltx2_efficient.hosts.comfyui.registry import node_mappings

REPO_ROOT = Path(__file__).resolve().parents[1]


def load_server():
    spec = importlib.util.spec_from_file_location(
        "frontend_server", REPO_ROOT / "tests" / "frontend_server.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("frontend_server", module)
    spec.loader.exec_module(module)
    return module


server = load_server()


def test_object_info_is_built_from_the_real_node_classes_like_comfyui_does():
    classes, names = node_mappings()
    info = server.object_info()
    assert set(classes) <= set(info)
    for name, cls in classes.items():
        entry = info[name]
        inputs = cls.INPUT_TYPES()
        assert entry["input"] == inputs
        assert entry["input_order"] == {section: list(spec) for section, spec in inputs.items()}
        schema = cls.GET_SCHEMA()
        assert entry["output"] == [o.io_type for o in schema.outputs]
        assert entry["output_name"] == [o.display_name for o in schema.outputs]
        assert entry["output_is_list"] == [False] * len(schema.outputs)
        assert entry["display_name"] == names[name]
        assert entry["category"] == schema.category
        assert entry["name"] == name


def test_core_latent_node_has_comfyuis_input_spec():
    latent = server.object_info()["EmptyLTXVLatentVideo"]
    required = latent["input"]["required"]
    assert list(required) == ["width", "height", "length", "batch_size"]
    assert required["width"] == ["INT", {"default": 768, "min": 64, "max": 16384, "step": 32}]
    assert required["length"] == ["INT", {"default": 97, "min": 1, "max": 16384, "step": 8}]
    assert latent["output"] == ["LATENT"]


def with_client(static: Path, test: Callable[[TestClient], Awaitable[None]]) -> None:
    async def run() -> None:
        async with TestClient(TestServer(server.make_app(static))) as client:
            await test(client)

    asyncio.run(run())


def fake_frontend(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<!doctype html><title>ComfyUI</title>")
    (tmp_path / "extensions" / "core").mkdir(parents=True)
    (tmp_path / "extensions" / "core" / "editAttention.js").write_text("export {}")
    return tmp_path


def test_serves_the_frontend_our_bundle_and_the_api_under_both_prefixes(tmp_path):
    static = fake_frontend(tmp_path)

    async def check(client: TestClient) -> None:
        assert "ComfyUI" in await (await client.get("/")).text()
        extensions = await (await client.get("/api/extensions")).json()
        ours = f"/extensions/{server.PACK_NAME}/ltx2eff_panel.js"
        assert extensions == ["/extensions/core/editAttention.js", ours]
        bundle = await client.get(ours)
        assert bundle.status == 200
        assert await bundle.read() == (REPO_ROOT / "web" / "ltx2eff_panel.js").read_bytes()
        for prefix in ("", "/api"):
            info = await (await client.get(f"{prefix}/object_info")).json()
            assert "LTX2EfficientVideoSampler" in info
        estimate = await client.post("/api/ltx2eff/estimate", json={"preset": "fast"})
        assert await estimate.json() == routes.estimate({"preset": "fast"})
        refused = await client.post("/api/ltx2eff/estimate", json={"width": 1000})
        assert refused.status == 400

    with_client(static, check)


def test_keeps_settings_and_user_data_for_the_session(tmp_path):
    static = fake_frontend(tmp_path)

    async def check(client: TestClient) -> None:
        assert (await client.post("/api/settings/Comfy.Locale", json="en")).status == 200
        assert (await (await client.get("/api/settings")).json())["Comfy.Locale"] == "en"
        saved = await client.post("/api/userdata/workflows%2Fa.json", data=b'{"nodes": []}')
        assert (await saved.json())["size"] == 13
        listing = await (await client.get("/api/userdata?dir=workflows&recurse=true")).json()
        assert [f["path"] for f in listing] == ["a.json"]
        assert (await client.get("/api/userdata/missing.json")).status == 404
        jobs = await (await client.get("/api/jobs?status=pending&limit=5")).json()
        assert jobs["pagination"]["has_more"] is False
        async with client.ws_connect("/ws?clientId=abc") as ws:
            first = await ws.receive_json()
            assert first["type"] == "status"
            assert first["data"]["sid"] == "abc"

    with_client(static, check)
