"""The last finished efficiency check of this ComfyUI process, for the panel's ``/ltx2eff/last_check``.

Only a check that ran to the end is published (a cancelled or failed one leaves the previous
result), and readers get a copy, so the stored report never changes under them.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

_last: dict[str, Any] | None = None
_lock = threading.Lock()


def publish(report: dict[str, Any]) -> None:
    global _last
    with _lock:
        _last = copy.deepcopy(report)


def last_check() -> dict[str, Any] | None:
    """The report of the last finished check (None before the first)."""
    with _lock:
        return copy.deepcopy(_last)


def last_check_state() -> dict[str, Any]:
    """What ``GET /ltx2eff/last_check`` answers: ``{"available": false}`` before any check."""
    report = last_check()
    return {"available": False} if report is None else {"available": True, "report": report}
