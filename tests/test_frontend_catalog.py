"""The frontend tests' fake backend answers /ltx2eff/presets with the real knob table and node
input layout: frontend/tests/catalog.json is what routes.presets() returns (its presets aside,
which the frontend tests choose themselves). Regenerate it with
``python tests/test_frontend_catalog.py`` after a knob changes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

CATALOG = Path(__file__).resolve().parents[1] / "frontend" / "tests" / "catalog.json"


def current() -> dict[str, Any]:
    from ltx2_efficient.hosts.comfyui import routes

    out = routes.presets()
    return {"knobs": out["knobs"], "node_inputs": out["node_inputs"]}


def test_the_frontend_tests_use_todays_knob_table():
    assert json.loads(CATALOG.read_text()) == json.loads(json.dumps(current())), (
        "frontend/tests/catalog.json is out of date: run python tests/test_frontend_catalog.py"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import comfy_api_fake

    comfy_api_fake.install()
    CATALOG.write_text(json.dumps(current(), indent=2) + "\n")
    print(f"wrote {CATALOG}")
