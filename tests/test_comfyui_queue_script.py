"""scripts/comfyui_queue_workflow.py against a small stand-in of ComfyUI's HTTP API (loopback)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

WORKFLOW = Path(__file__).resolve().parents[1] / "scripts" / "comfyui_tiny_ltxv_workflow.json"


class FakeComfy:
    """/object_info, /prompt, /history/<id> and /internal/logs/raw, as ComfyUI answers them."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.prompts: list[dict] = []
        self.logs = [{"t": "0", "m": "older line\n"}]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/system_stats", self.json({}))
        app.router.add_get("/object_info", self.object_info)
        app.router.add_post("/prompt", self.prompt)
        app.router.add_get("/history/{id}", self.history)
        app.router.add_get("/internal/logs/raw", self.json({"entries": self.logs}))
        return app

    @staticmethod
    def json(answer: dict):
        async def handler(request: web.Request) -> web.Response:
            return web.json_response(answer)

        return handler

    async def object_info(self, request: web.Request) -> web.Response:
        sampler = {"required": {"preset": [["off", "balanced"], {"default": "balanced"}],
                                "frame_stride": ["INT", {"default": 1, "min": 1}]}}  # fmt: skip
        return web.json_response({"LTX2EfficientVideoSampler": {"input": sampler}})

    async def prompt(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body["prompt"]["9"]["inputs"].get("frame_stride") == 99:
            return web.json_response({"error": {"message": "Prompt outputs failed validation"}}, status=400)
        self.prompts.append(body["prompt"])
        self.logs.append({"t": "1", "m": "LTX2 Efficient Video Sampler: dense attention\n"})
        return web.json_response({"prompt_id": "p1", "number": 0})

    async def history(self, request: web.Request) -> web.Response:
        if self.fail:
            messages = [["execution_error", {"node_id": "9", "node_type": "LTX2EfficientVideoSampler",
                                              "exception_type": "ValueError", "exception_message": "bad",
                                              "traceback": ["Traceback...\n"]}]]  # fmt: skip
            status = {"status_str": "error", "completed": False, "messages": messages}
            return web.json_response({"p1": {"status": status, "outputs": {}}})
        outputs = {"9": {"text": ["dense attention; 12/30 steps reused"]}}
        status = {"status_str": "success", "completed": True, "messages": [["execution_success", {}]]}
        return web.json_response({"p1": {"status": status, "outputs": outputs}})


@pytest.fixture
def server(request) -> Iterator[tuple[str, FakeComfy]]:
    fake = FakeComfy(fail=getattr(request, "param", False))
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(fake.app())
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", fake
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.run_until_complete(runner.cleanup())
    loop.close()


@pytest.fixture(scope="module")
def queue(repo_script):
    return repo_script("scripts/comfyui_queue_workflow.py", "comfyui_queue_workflow")


def test_queues_fills_defaults_and_prints_outputs_and_the_runs_log(queue, server, capsys):
    url, fake = server
    assert queue.main([str(WORKFLOW), "--server", url, "--set", "9.preset=off", "--timeout", "10"]) == 0
    sent = fake.prompts[0]["9"]["inputs"]
    assert sent["preset"] == "off" and sent["frame_stride"] == 1  # overridden; filled in
    text = capsys.readouterr().out
    assert "default filled in: 9.frame_stride=1" in text
    assert "12/30 steps reused" in text and "run succeeded" in text
    assert "LTX2 Efficient Video Sampler: dense attention" in text and "older line" not in text


def test_a_refused_prompt_exits_1_with_the_servers_answer(queue, server, capsys):
    url, _ = server
    assert queue.main([str(WORKFLOW), "--server", url, "--set", "9.frame_stride=99"]) == 1
    assert "failed validation" in capsys.readouterr().err


@pytest.mark.parametrize("server", [True], indirect=True)
def test_a_failed_run_exits_1_with_the_error(queue, server, capsys):
    url, _ = server
    assert queue.main([str(WORKFLOW), "--server", url, "--timeout", "10"]) == 1
    text = capsys.readouterr().out
    assert "ERROR in node 9 (LTX2EfficientVideoSampler): ValueError: bad" in text and "FAILED" in text


def test_bad_arguments_exit_2(queue, tmp_path, capsys):
    ui_format = tmp_path / "ui.json"
    ui_format.write_text(json.dumps({"nodes": [], "links": []}))
    assert queue.main([str(ui_format)]) == 2
    assert queue.main([str(WORKFLOW), "--set", "nonode.x=1"]) == 2
    assert queue.main([str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err
    assert "not API format" in err and "NODE_ID.INPUT=JSON_VALUE" in err


def test_an_unreachable_server_exits_1(queue, capsys):
    assert queue.main([str(WORKFLOW), "--server", "http://127.0.0.1:9", "--no-defaults"]) == 1
    assert "cannot reach" in capsys.readouterr().err
