"""ltx2_efficient.config: the LTX2EFF_* switches of the Python layer, read in one place."""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import pytest

from ltx2_efficient import config

PACKAGE = Path(config.__file__).resolve().parent


def test_switches_follow_the_environment_at_each_call(monkeypatch):
    monkeypatch.delenv(config.ATTENTION_BACKEND_ENV, raising=False)
    assert config.attention_backend() == "auto"
    monkeypatch.setenv(config.ATTENTION_BACKEND_ENV, " torch ")
    assert config.attention_backend() == "torch"
    monkeypatch.setenv(config.ATTENTION_AUTOTUNE_ENV, "OFF")
    assert config.attention_autotune() is False
    monkeypatch.setenv(config.CUDNN_GRAPH_ENV, "")
    assert config.cudnn_graph() is True  # empty = the default


@pytest.mark.parametrize(
    ("name", "read", "value", "message"),
    [
        (config.ATTENTION_BACKEND_ENV, config.attention_backend, "gpu", "must be one of auto cpu cuda"),
        (config.ATTENTION_AUTOTUNE_ENV, config.attention_autotune, "maybe", "must be one of 0 1 on off"),
        (config.CUDNN_GRAPH_ENV, config.cudnn_graph, "2", "must be one of 0 1 on off"),
    ],
)
def test_bad_values_name_the_variable(monkeypatch, name, read, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=f"{name} {message}"):
        read()


def test_overrides_hold_in_this_thread_only(monkeypatch):
    monkeypatch.setenv(config.ATTENTION_BACKEND_ENV, "cpu")
    seen: list[str] = []
    with config.overridden({config.ATTENTION_BACKEND_ENV: "batched"}):
        assert config.attention_backend() == "batched"
        with config.overridden({config.CUDNN_GRAPH_ENV: "0"}):
            assert config.attention_backend() == "batched" and not config.cudnn_graph()
        other = threading.Thread(target=lambda: seen.append(config.attention_backend()))
        other.start()
        other.join()
    assert seen == ["cpu"] and config.attention_backend() == "cpu"
    with pytest.raises(ValueError, match="unknown switch"):
        with config.overridden({"LTX2EFF_WARP": "1"}):
            pass


def test_no_other_module_reads_an_ltx2eff_variable():
    readers = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "config.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value in config.SWITCHES
            ):
                readers.append(f"{path.relative_to(PACKAGE)}: {node.value}")
    assert not readers, readers
