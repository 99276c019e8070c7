"""A small stand-in for ComfyUI's server, for the panel's end-to-end test.

It serves the real ComfyUI frontend (the ``comfyui-frontend-package`` wheel's ``static/``
folder), this pack's ``web/`` folder at ``/extensions/<pack>/`` as ComfyUI serves a custom node
pack's WEB_DIRECTORY, node definitions built from this pack's real node classes (converted the
way ComfyUI's ``/object_info`` does) plus the few core nodes the test graph needs, our real
``/ltx2eff/...`` routes, and quiet answers to the other routes the frontend calls while it loads.

Run: ``python tests/frontend_server.py [--port 0]``; it prints ``LISTENING <url>`` once serving.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

sys.path.insert(0, str(Path(__file__).resolve().parent))
import comfy_api_fake  # the nodes are V3 nodes; the fake stands in for ComfyUI's API

comfy_api_fake.install()

from ltx2_efficient.hosts.comfyui import routes as panel_routes  # noqa: E402
from ltx2_efficient.hosts.comfyui.registry import node_mappings  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
WEB_DIR = REPO_ROOT / "web"
PACK_NAME = "ltx2-efficient-sampler"
MAX_RESOLUTION = 16384  # ComfyUI's nodes.MAX_RESOLUTION

_log = logging.getLogger("frontend_server")


def frontend_static_dir() -> Path:
    """The built ComfyUI frontend shipped by the comfyui-frontend-package wheel."""
    import comfyui_frontend_package

    return Path(comfyui_frontend_package.__file__).resolve().parent / "static"


def node_info(name: str, cls: Any, display_name: str) -> dict[str, Any]:
    """One /object_info entry of a V3 node class, as ComfyUI's server builds it."""
    info = dict(cls.GET_NODE_INFO_V1())
    info["python_module"] = f"custom_nodes.{PACK_NAME}"
    return info


def _core_node(name: str, category: str, required: dict[str, Any], outputs: list[str]) -> dict[str, Any]:
    return {
        "input": {"required": required},
        "input_order": {"required": list(required)},
        "is_input_list": False,
        "output": outputs,
        "output_is_list": [False] * len(outputs),
        "output_name": outputs,
        "name": name,
        "display_name": name,
        "description": "",
        "python_module": "comfy_extras.nodes_lt",
        "category": category,
        "output_node": False,
    }


def core_node_infos() -> dict[str, dict[str, Any]]:
    """ComfyUI core nodes the test graph uses, with their real input specs (comfy_extras)."""
    size = {"min": 64, "max": MAX_RESOLUTION, "step": 32}
    return {
        "EmptyLTXVLatentVideo": _core_node(
            "EmptyLTXVLatentVideo",
            "latent/video/ltxv",
            {
                "width": ["INT", {"default": 768, **size}],
                "height": ["INT", {"default": 512, **size}],
                "length": ["INT", {"default": 97, "min": 1, "max": MAX_RESOLUTION, "step": 8}],
                "batch_size": ["INT", {"default": 1, "min": 1, "max": 4096}],
            },
            ["LATENT"],
        )
    }


def object_info() -> dict[str, dict[str, Any]]:
    classes, names = node_mappings()
    out = core_node_infos()
    for name, cls in classes.items():
        out[name] = node_info(name, cls, names.get(name, name))
    return out


def extension_scripts(static_dir: Path) -> list[str]:
    """What ComfyUI's /extensions answers: the frontend's own and every pack's .js files."""
    urls = ["/" + p.relative_to(static_dir).as_posix() for p in sorted(static_dir.glob("extensions/**/*.js"))]
    urls += [
        f"/extensions/{PACK_NAME}/{p.relative_to(WEB_DIR).as_posix()}"
        for p in sorted(WEB_DIR.glob("**/*.js"))
    ]
    return urls


class FakeComfy:
    """The per-run state the frontend reads and writes: settings and user data files."""

    def __init__(self, static_dir: Path) -> None:
        self.static_dir = static_dir
        self.settings: dict[str, Any] = {
            # No first-run tour, no template browser, no update or release popups.
            "Comfy.TutorialCompleted": True,
            "Comfy.InstalledVersion": "999.0.0",
            "Comfy.Release.Version": "999.0.0",
            "Comfy.Release.Status": "changelog seen",
            "Comfy.Release.Timestamp": int(time.time() * 1000),
            "Comfy.Minimap.Visible": False,
        }
        self.userdata: dict[str, bytes] = {}
        self.object_info = object_info()
        self.sockets: set[web.WebSocketResponse] = set()

    def routes(self) -> web.RouteTableDef:
        r = web.RouteTableDef()

        @r.get("/object_info")
        async def get_object_info(request: web.Request) -> web.Response:
            return web.json_response(self.object_info)

        @r.get("/extensions")
        async def get_extensions(request: web.Request) -> web.Response:
            return web.json_response(extension_scripts(self.static_dir))

        @r.get("/settings")
        async def get_settings(request: web.Request) -> web.Response:
            return web.json_response(self.settings)

        @r.post("/settings")
        async def post_settings(request: web.Request) -> web.Response:
            self.settings.update(await request.json())
            return web.Response()

        @r.get("/settings/{key}")
        async def get_setting(request: web.Request) -> web.Response:
            return web.json_response(self.settings.get(request.match_info["key"]))

        @r.post("/settings/{key}")
        async def post_setting(request: web.Request) -> web.Response:
            self.settings[request.match_info["key"]] = await request.json()
            return web.Response()

        @r.get("/users")
        async def get_users(request: web.Request) -> web.Response:
            return web.json_response({"storage": "server", "migrated": True})

        @r.get("/userdata")
        async def list_userdata(request: web.Request) -> web.Response:
            folder = request.query.get("dir", "").strip("/") + "/"
            now = time.time()
            files = [
                {"path": name[len(folder) :], "size": len(data), "modified": now}
                for name, data in self.userdata.items()
                if name.startswith(folder)
            ]
            return web.json_response(files)

        @r.get("/userdata/{file}")
        async def get_userdata(request: web.Request) -> web.Response:
            name = request.match_info["file"]
            data = self.userdata.get(name)
            if data is None and name == "user.css":  # linked by index.html; empty by default
                return web.Response(text="", content_type="text/css")
            if data is None:
                return web.Response(status=404)
            return web.Response(body=data)

        @r.post("/userdata/{file}")
        async def post_userdata(request: web.Request) -> web.Response:
            name = request.match_info["file"]
            self.userdata[name] = await request.read()
            info = {"path": name.split("/", 1)[-1], "size": len(self.userdata[name]), "modified": time.time()}
            return web.json_response(info)

        @r.delete("/userdata/{file}")
        async def delete_userdata(request: web.Request) -> web.Response:
            self.userdata.pop(request.match_info["file"], None)
            return web.Response(status=204)

        @r.get("/system_stats")
        async def system_stats(request: web.Request) -> web.Response:
            return web.json_response(
                {
                    "system": {
                        "os": "posix",
                        "ram_total": 0,
                        "ram_free": 0,
                        "comfyui_version": "test-server",
                        "python_version": sys.version,
                        "pytorch_version": "none",
                        "embedded_python": False,
                        "argv": ["main.py"],
                    },
                    "devices": [],
                }
            )

        @r.get("/features")
        async def features(request: web.Request) -> web.Response:
            return web.json_response({"supports_preview_metadata": False})

        @r.get("/prompt")
        async def get_prompt(request: web.Request) -> web.Response:
            return web.json_response({"exec_info": {"queue_remaining": 0}})

        @r.get("/queue")
        async def get_queue(request: web.Request) -> web.Response:
            return web.json_response({"queue_running": [], "queue_pending": []})

        @r.get("/history")
        async def get_history(request: web.Request) -> web.Response:
            return web.json_response({})

        @r.get("/jobs")
        async def get_jobs(request: web.Request) -> web.Response:
            pagination = {
                "offset": 0,
                "limit": int(request.query.get("limit", 0)),
                "total": 0,
                "has_more": False,
            }
            return web.json_response({"jobs": [], "pagination": pagination})

        for path, value in {
            "/embeddings": [],
            "/experiment/models": [],
            "/node_replacements": {},
            "/global_subgraphs": {},
        }.items():
            r.get(path)(_constant(value))

        @r.get("/i18n")
        async def i18n(request: web.Request) -> web.Response:
            return web.json_response({})

        @r.get("/ws")
        async def websocket(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            sid = request.query.get("clientId") or uuid.uuid4().hex
            self.sockets.add(ws)
            try:
                status = {"status": {"exec_info": {"queue_remaining": 0}}, "sid": sid}
                await ws.send_str(json.dumps({"type": "status", "data": status}))
                async for msg in ws:  # stays quiet: nothing is ever executed here
                    if msg.type == WSMsgType.ERROR:
                        break
            finally:
                self.sockets.discard(ws)
            return ws

        return r


def _constant(value: Any) -> Any:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response(value)

    return handler


COMFY_STATE = web.AppKey("comfy_state", FakeComfy)


@web.middleware
async def no_cache(request: web.Request, handler: Any) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("Cache-Control", "no-cache")
    return response


@web.middleware
async def log_misses(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPNotFound:
        _log.info("404 %s %s", request.method, request.path_qs)
        raise
    if response.status == 404:
        _log.info("404 %s %s", request.method, request.path_qs)
    return response


def make_app(static_dir: Path | None = None) -> web.Application:
    static_dir = static_dir or frontend_static_dir()
    comfy = FakeComfy(static_dir)
    app = web.Application(middlewares=[log_misses, no_cache])
    app[COMFY_STATE] = comfy
    api = comfy.routes()
    panel_routes.add_routes(api)
    # ComfyUI serves every API route both bare and under /api.
    app.add_routes(
        [web.route(d.method, "/api" + d.path, d.handler) for d in api if isinstance(d, web.RouteDef)]
    )
    app.add_routes(api)

    async def index(request: web.Request) -> web.FileResponse:
        return web.FileResponse(static_dir / "index.html")

    async def user_css(request: web.Request) -> web.Response:
        return web.Response(text="", content_type="text/css")

    app.router.add_get("/", index)
    app.router.add_get("/user.css", user_css)
    app.router.add_static(f"/extensions/{PACK_NAME}", WEB_DIR)
    app.router.add_static("/", static_dir)

    async def close_sockets(app: web.Application) -> None:
        for ws in list(comfy.sockets):
            await ws.close()

    app.on_shutdown.append(close_sockets)
    return app


async def serve(host: str, port: int) -> None:
    runner = web.AppRunner(make_app(), handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0]
    print(f"LISTENING http://{host}:{bound[1]}/", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[server] %(message)s", stream=sys.stderr)
    asyncio.run(serve(args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
