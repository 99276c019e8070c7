"""Queues an API-format workflow on a running ComfyUI server, waits for it and prints what it did.

    python scripts/comfyui_queue_workflow.py scripts/comfyui_tiny_ltxv_workflow.json \
        --set 9.preset='"fast"' --server http://127.0.0.1:8188

Posts the workflow to ``/prompt``, polls ``/history/<id>`` until the run ends, and prints each
node's UI outputs (the efficient sampler's report line among them), the run's status messages
(an error with its traceback) and the server's log lines written during the run. Required inputs
the workflow leaves out are filled with their defaults from ``/object_info`` (and listed), so one
workflow file keeps working while a node gains inputs. Exit status: 0 when the run succeeded,
1 when the server refused or the run failed, 2 for bad arguments. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any


class ServerError(RuntimeError):
    """The server answered with an error status or could not be reached."""


def _request(server: str, path: str, body: Any = None, timeout: float = 30.0) -> Any:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if data is not None else {}
    req = urllib.request.Request(server.rstrip("/") + path, data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        text = exc.read().decode(errors="replace")
        raise ServerError(f"{path} answered {exc.code}: {text[:4000]}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ServerError(f"cannot reach {server}{path}: {exc}") from None


def _wait_for_server(server: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            _request(server, "/system_stats", timeout=5.0)
            return
        except ServerError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(1.0)


def _apply_overrides(workflow: dict, overrides: list[str]) -> None:
    for item in overrides:
        target, sep, value = item.partition("=")
        node, dot, name = target.partition(".")
        if not sep or not dot or node not in workflow:
            raise ValueError(
                f"--set {item!r}: expected NODE_ID.INPUT=JSON_VALUE with a node id of the workflow"
            )
        try:
            workflow[node].setdefault("inputs", {})[name] = json.loads(value)
        except json.JSONDecodeError:
            workflow[node]["inputs"][name] = value  # a bare word is a string


def _fill_defaults(server: str, workflow: dict) -> list[str]:
    """Sets each missing required input that has a default; returns 'node.input=value' lines."""
    info = _request(server, "/object_info", timeout=60.0)
    filled = []
    for node_id, node in workflow.items():
        spec = info.get(node.get("class_type", ""), {})
        inputs = node.setdefault("inputs", {})
        for name, entry in spec.get("input", {}).get("required", {}).items():
            options = entry[1] if len(entry) > 1 and isinstance(entry[1], dict) else {}
            if name not in inputs and "default" in options:
                inputs[name] = options["default"]
                filled.append(f"{node_id}.{name}={json.dumps(options['default'])}")
    return filled


def _log_entries(server: str) -> list[dict]:
    try:
        return list(_request(server, "/internal/logs/raw").get("entries", []))
    except ServerError:
        return []  # a server started without its log route: the run still reports its outputs


def _new_entries(before: list[dict], after: list[dict]) -> list[dict]:
    if before:
        for index in range(len(after) - 1, -1, -1):
            if after[index] == before[-1]:
                return after[index + 1 :]
    return after


def _wait_for_history(server: str, prompt_id: str, seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        history = _request(server, f"/history/{prompt_id}")
        entry = history.get(prompt_id) if isinstance(history, dict) else None
        if entry and entry.get("status", {}).get("completed") is not None:
            if entry["status"].get("status_str") in ("success", "error"):
                return entry
        time.sleep(0.5)
    raise ServerError(f"prompt {prompt_id} did not finish within {seconds:g} s")


def _print_run(entry: dict, workflow: dict, logs: list[dict]) -> bool:
    status = entry.get("status", {})
    for kind, message in status.get("messages", []):
        if kind == "execution_error":
            print(f"ERROR in node {message.get('node_id')} ({message.get('node_type')}): "
                  f"{message.get('exception_type')}: {message.get('exception_message')}")  # fmt: skip
            print("".join(message.get("traceback", [])).rstrip())
        elif kind in ("execution_start", "execution_success", "execution_cached", "execution_interrupted"):
            nodes = message.get("nodes")
            print(f"{kind}" + (f": nodes {', '.join(nodes)}" if nodes else ""))
    for node_id, outputs in entry.get("outputs", {}).items():
        class_type = workflow.get(node_id, {}).get("class_type", "?")
        print(f"node {node_id} ({class_type}) outputs: {json.dumps(outputs)}")
    if logs:
        print("server log during the run:")
        for line in logs:
            print("  " + str(line.get("m", "")).rstrip("\n"))
    ok = status.get("status_str") == "success"
    print("run " + ("succeeded" if ok else "FAILED"))
    return ok


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workflow", type=Path, help="an API-format workflow (ComfyUI's 'Export (API)')")
    parser.add_argument("--server", default="http://127.0.0.1:8188", help="the server's base URL")
    parser.add_argument("--set", action="append", default=[], metavar="NODE.INPUT=JSON",
                        help="override one input, e.g. 9.preset='\"fast\"' (repeatable)")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the run")
    parser.add_argument("--wait-server", type=float, default=0.0, metavar="S",
                        help="seconds to wait for the server to come up before queueing")  # fmt: skip
    parser.add_argument("--no-defaults", action="store_true", help="send the workflow as written")
    args = parser.parse_args(argv)
    if args.timeout <= 0 or args.wait_server < 0:
        parser.error("--timeout must be > 0 and --wait-server >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    try:
        workflow = json.loads(args.workflow.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        print(f"workflow {args.workflow}: {exc}", file=sys.stderr)
        return 2
    if not isinstance(workflow, dict) or "nodes" in workflow:
        print(f"workflow {args.workflow}: not API format (export it with 'Export (API)')", file=sys.stderr)
        return 2
    try:
        _apply_overrides(workflow, args.set)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        _wait_for_server(args.server, args.wait_server)
        for line in [] if args.no_defaults else _fill_defaults(args.server, workflow):
            print(f"default filled in: {line}")
        before = _log_entries(args.server)
        queued = _request(args.server, "/prompt", {"prompt": workflow, "client_id": uuid.uuid4().hex})
        prompt_id = queued["prompt_id"]
        print(f"queued prompt {prompt_id}")
        entry = _wait_for_history(args.server, prompt_id, args.timeout)
        logs = _new_entries(before, _log_entries(args.server))
    except ServerError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0 if _print_run(entry, workflow, logs) else 1


if __name__ == "__main__":
    sys.exit(main())
