"""The example workflows load, use only known node types, and every link joins matching slots.

Core node types are checked against the pinned list below (the core nodes of current ComfyUI
the workflows use) and, when COMFYUI_DIR points at a ComfyUI checkout, against its real
NODE_CLASS_MAPPINGS and their input and output types. Our nodes are checked against the
registry: slot names and types, and one valid widget value per widget input.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from ltx2_efficient.hosts.comfyui.registry import node_mappings

REPO_ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((REPO_ROOT / "example_workflows").glob("*.json"))
LINK_TYPES = {"MODEL", "CLIP", "VAE", "CONDITIONING", "LATENT", "IMAGE", "MASK", "AUDIO", "VIDEO", "GUIDER",
              "NOISE", "SAMPLER", "SIGMAS", "LATENT_UPSCALE_MODEL", "LTX2_THERMAL_GUARD"}  # fmt: skip

# Core node types used by the workflows -> (input slot types by name, output types), from ComfyUI.
CORE_NODES: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {
    "CheckpointLoaderSimple": ({}, ("MODEL", "CLIP", "VAE")),
    "LTXAVTextEncoderLoader": ({}, ("CLIP",)),
    "LTXVAudioVAELoader": ({}, ("VAE",)),
    "CLIPTextEncode": ({"clip": "CLIP"}, ("CONDITIONING",)),
    "LTXVConditioning": (
        {"positive": "CONDITIONING", "negative": "CONDITIONING"},
        ("CONDITIONING", "CONDITIONING"),
    ),
    "EmptyLTXVLatentVideo": ({}, ("LATENT",)),
    "LoadImage": ({}, ("IMAGE", "MASK")),
    "LTXVImgToVideo": (
        {"positive": "CONDITIONING", "negative": "CONDITIONING", "vae": "VAE", "image": "IMAGE"},
        ("CONDITIONING", "CONDITIONING", "LATENT"),
    ),
    "LTXVEmptyLatentAudio": ({"audio_vae": "VAE"}, ("LATENT",)),
    "LTXVConcatAVLatent": ({"video_latent": "LATENT", "audio_latent": "LATENT"}, ("LATENT",)),
    "CFGGuider": ({"model": "MODEL", "positive": "CONDITIONING", "negative": "CONDITIONING"}, ("GUIDER",)),
    "RandomNoise": ({}, ("NOISE",)),
    "KSamplerSelect": ({}, ("SAMPLER",)),
    "LTXVScheduler": ({"latent": "LATENT"}, ("SIGMAS",)),
    "LTXVSeparateAVLatent": ({"av_latent": "LATENT"}, ("LATENT", "LATENT")),
    "VAEDecode": ({"samples": "LATENT", "vae": "VAE"}, ("IMAGE",)),
    "LTXVAudioVAEDecode": ({"samples": "LATENT", "audio_vae": "VAE"}, ("AUDIO",)),
    "CreateVideo": ({"images": "IMAGE", "audio": "AUDIO"}, ("VIDEO",)),
    "SaveVideo": ({"video": "VIDEO"}, ()),
}


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def _our_nodes() -> dict[str, Any]:
    return node_mappings()[0]


def _slot_types(node_class: Any) -> tuple[dict[str, Any], tuple[str, ...]]:
    spec = node_class.INPUT_TYPES()
    inputs: dict[str, Any] = {}
    for section in ("required", "optional"):
        for name, definition in spec.get(section, {}).items():
            inputs[name] = definition[0]
    if hasattr(node_class, "GET_NODE_INFO_V1"):  # a V3 node
        return inputs, tuple(node_class.GET_NODE_INFO_V1()["output"])
    return inputs, tuple(node_class.RETURN_TYPES)


def test_there_are_text_and_image_to_video_workflows():
    names = {p.name for p in WORKFLOWS}
    assert "ltx2_text_to_video_efficient.json" in names
    assert "ltx2_image_to_video_efficient.json" in names


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_node_type_is_known_and_ours_are_used(path):
    doc = _load(path)
    ours = _our_nodes()
    types = [n["type"] for n in doc["nodes"]]
    assert "LTX2EfficientVideoSampler" in types
    for node_type in types:
        assert node_type in ours or node_type in CORE_NODES, node_type
    ids = [n["id"] for n in doc["nodes"]]
    assert len(ids) == len(set(ids)) and doc["last_node_id"] == max(ids)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_link_joins_existing_slots_of_matching_type(path):
    doc = _load(path)
    nodes = {n["id"]: n for n in doc["nodes"]}
    link_ids = set()
    for link_id, origin, origin_slot, target, target_slot, link_type in doc["links"]:
        assert link_id not in link_ids
        link_ids.add(link_id)
        assert link_type in LINK_TYPES
        source, dest = nodes[origin], nodes[target]
        output = source["outputs"][origin_slot]
        assert output["type"] == link_type and link_id in output["links"]
        slot = dest["inputs"][target_slot]
        assert slot["type"] == link_type and slot["link"] == link_id
    assert doc["last_link_id"] == max(link_ids)
    for node in doc["nodes"]:
        for slot in node["inputs"]:
            assert slot["link"] in link_ids or slot["link"] is None
        for output in node["outputs"]:
            assert all(link in link_ids for link in output["links"] or [])


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_slots_match_the_node_definitions(path):
    doc = _load(path)
    ours = _our_nodes()
    for node in doc["nodes"]:
        if node["type"] in ours:
            inputs, outputs = _slot_types(ours[node["type"]])
        else:
            inputs, outputs = CORE_NODES[node["type"]]
        for slot in node["inputs"]:
            assert inputs.get(slot["name"]) == slot["type"], (node["type"], slot["name"])
        assert tuple(o["type"] for o in node["outputs"]) == outputs, node["type"]
        if node["type"] in ours:  # every required link input of our nodes is connected
            required = ours[node["type"]].INPUT_TYPES()["required"]
            needed = {n for n, d in required.items() if isinstance(d[0], str) and d[0] in LINK_TYPES}
            assert needed <= {s["name"] for s in node["inputs"] if s["link"] is not None}, node["type"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_our_widget_values_are_valid(path):
    from ltx2_efficient.hosts.comfyui.knob_inputs import settings_from_inputs
    from ltx2_efficient.hosts.comfyui.node_video_sampler import SAMPLER_KNOBS

    doc = _load(path)
    ours = _our_nodes()
    for node in doc["nodes"]:
        if node["type"] not in ours:
            continue
        required = ours[node["type"]].INPUT_TYPES()["required"]
        widgets = [(n, d) for n, d in required.items() if d[0] in ("COMBO", "INT", "FLOAT")]
        values = node["widgets_values"]
        assert len(values) == len(widgets), node["type"]
        for (name, (kind, options)), value in zip(widgets, values, strict=True):
            if kind == "COMBO":
                assert value in options["options"], name
            else:
                assert options["min"] <= value <= options["max"], name
        if node["type"] == "LTX2EfficientVideoSampler":
            knobs = dict(zip([n for n, _ in widgets], values, strict=True))
            settings_from_inputs(knobs.pop("preset"), SAMPLER_KNOBS, knobs)


@pytest.fixture(scope="module")
def comfy_nodes():
    directory = os.environ.get("COMFYUI_DIR", "")
    if not directory:
        pytest.skip("COMFYUI_DIR is not set to a ComfyUI checkout")
    import asyncio

    import torch

    if directory not in sys.path:
        sys.path.insert(0, directory)
    from comfy.cli_args import args

    if not torch.cuda.is_available():
        args.cpu = True
    import nodes

    asyncio.run(nodes.init_extra_nodes(init_custom_nodes=False, init_api_nodes=False))
    return nodes.NODE_CLASS_MAPPINGS


def test_pinned_core_nodes_match_comfyui(comfy_nodes):
    for name, (inputs, outputs) in CORE_NODES.items():
        assert name in comfy_nodes, name
        real_inputs, real_outputs = _slot_types(comfy_nodes[name])
        assert tuple(real_outputs) == outputs, name
        for slot, slot_type in inputs.items():
            assert real_inputs.get(slot) == slot_type, (name, slot)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_core_widget_counts_match_comfyui(path, comfy_nodes):
    doc = _load(path)
    for node in doc["nodes"]:
        if node["type"] in _our_nodes():
            continue
        spec = comfy_nodes[node["type"]].INPUT_TYPES()
        widgets = 0
        for section in ("required", "optional"):
            for definition in spec.get(section, {}).values():
                kind = definition[0]
                options = definition[1] if len(definition) > 1 else {}
                if isinstance(kind, list) or kind in ("INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"):
                    widgets += 1 + (1 if options.get("control_after_generate") else 0)
                    widgets += 1 if options.get("image_upload") else 0
        assert len(node["widgets_values"]) <= widgets and (widgets == 0 or node["widgets_values"]), node[
            "type"
        ]
