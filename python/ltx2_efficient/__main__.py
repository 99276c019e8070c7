"""``python -m ltx2_efficient <verb>``: the Python verbs of the ``ltx2eff`` command."""

from __future__ import annotations

import importlib
import sys

# verb -> module with a ``main(argv: list[str]) -> int``
VERBS: dict[str, str] = {
    "demo": "ltx2_efficient.demo.cli",
    "eval": "ltx2_efficient.eval.cli",
    "info": "ltx2_efficient.info",
}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        names = ", ".join(sorted(VERBS)) or "none"
        print(f"usage: python -m ltx2_efficient <verb> [options]   (verbs: {names})")
        return 0 if args else 2
    verb, rest = args[0], args[1:]
    module = VERBS.get(verb)
    if module is None:
        print(f"ltx2eff: unknown command '{verb}' (see ltx2eff --help)", file=sys.stderr)
        return 2
    return int(importlib.import_module(module).main(rest))


if __name__ == "__main__":
    sys.exit(main())
