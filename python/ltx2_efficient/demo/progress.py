"""A plain-text progress bar on stderr: redrawn in place on a terminal, one line per run otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 24


class ProgressBar:
    """``bar.start(label)``, then ``bar.update(done, total, phase)`` per step, ``bar.finish(note)``."""

    def __init__(self, runs: int, stream: TextIO | None = None) -> None:
        self.runs = runs
        self.index = 0
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self.label = ""
        self.started = 0.0

    def start(self, label: str) -> None:
        self.index += 1
        self.label = label
        self.started = time.perf_counter()
        if not self.interactive:
            self.stream.write(f"[{self.index}/{self.runs}] {label} ...\n")
            self.stream.flush()
        self.update(0, 1, "starting")

    def update(self, done: int, total: int, phase: str) -> None:
        if not self.interactive:
            return
        filled = round(BAR_WIDTH * done / max(total, 1))
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        elapsed = time.perf_counter() - self.started
        self.stream.write(
            f"\r[{self.index}/{self.runs}] {self.label:<9} [{bar}] {done}/{total} steps ({phase}) {elapsed:5.1f}s "
        )
        self.stream.flush()

    def finish(self, note: str) -> None:
        elapsed = time.perf_counter() - self.started
        line = f"[{self.index}/{self.runs}] {self.label:<9} done in {elapsed:5.1f}s  {note}"
        if self.interactive:
            line = "\r" + line.ljust(100)  # overwrite the whole bar
        self.stream.write(line + "\n")
        self.stream.flush()
