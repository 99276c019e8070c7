"""The packages the demo and eval need beyond the core, checked before anything imports them.

ltx-core is installed on its own with ``--no-deps``: its declared dependencies (torchaudio,
transformers, ...) would pull another torch over the user's, and the transformer the demo runs
needs none of them. torch is never installed for the user: ComfyUI and other hosts bring their
own.
"""

from __future__ import annotations

import importlib.util

# The ltx-core release the host code is written against (scripts/lib/env.sh installs the same).
LTX_CORE_SPEC = "ltx-core==1.0.0"

# import name -> (distribution name, how it is installed)
_NEEDED: dict[str, tuple[str, str]] = {
    "torch": ("torch", "torch"),
    "ltx_core": ("ltx-core", "ltx-core"),
    "safetensors": ("safetensors", "demo"),
    "PIL": ("pillow", "demo"),
    "einops": ("einops", "demo"),
    "scipy": ("scipy", "demo"),
}


class MissingPackages(RuntimeError):
    """Packages the verb needs are not installed; the message is one line saying how to fix it."""


def missing_packages() -> list[str]:
    """Distribution names of the needed packages that cannot be imported here."""
    return [dist for module, (dist, _) in _NEEDED.items() if importlib.util.find_spec(module) is None]


def install_hint(missing: list[str]) -> str:
    """The commands that install ``missing``, joined with '; '."""
    how = {dist: kind for dist, kind in _NEEDED.values()}
    steps = []
    if "torch" in missing:
        steps.append("pip install torch (or use the Python of a host that has it, e.g. ComfyUI's)")
    if any(how[d] == "demo" for d in missing):
        steps.append("pip install 'ltx2-efficient[demo]'")
    if "ltx-core" in missing:
        steps.append(
            f"pip install --no-deps {LTX_CORE_SPEC} (without its dependencies, which would replace torch)"
        )
    return "; ".join(steps)


def require_packages() -> None:
    """Raises MissingPackages naming every missing package and the commands that install them.
    The message does not name the verb: the caller's one-line report starts with it."""
    missing = missing_packages()
    if missing:
        raise MissingPackages(f"needs {', '.join(missing)}, not installed here: {install_hint(missing)}")
