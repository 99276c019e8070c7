"""The output folder of ``ltx2eff demo`` and ``ltx2eff eval``: never mixed with an older run,
never half written.

A run writes into a hidden staging folder next to ``--out`` and renames it into place once
complete (a rename within one file system is atomic), so ``--out`` holds either nothing new or
one whole run. An existing non-empty folder is refused unless ``--force`` is given and the
folder is an earlier run of this command (it holds the run marker): folders with other files
are never replaced. An interrupted or failed run removes its staging folder.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

# Written last into every complete run; its presence lets --force replace the folder.
RUN_MARKER = ".ltx2eff-run.json"


class OutputFolderError(ValueError):
    """--out cannot be used; the message is one line naming the folder and why."""


def check_output_folder(out: str, force: bool) -> Path:
    """The resolved --out, checked before any work starts: not empty, not a file, in a writable
    parent, and either absent, empty, or (with ``force``) an earlier run."""
    if not out.strip():
        raise OutputFolderError(f"--out must name a folder, got {out!r}")
    path = Path(out).expanduser().absolute()
    if path.exists() and not path.is_dir():
        raise OutputFolderError(f"--out {out} is a file, not a folder")
    if path.is_dir() and any(path.iterdir()):
        if not force:
            raise OutputFolderError(
                f"--out {out} is not empty: give a new or empty folder, or --force to replace an earlier run there"
            )
        if not (path / RUN_MARKER).is_file():
            raise OutputFolderError(
                f"--out {out} holds files that are not an ltx2eff run: not replaced, even with --force; "
                "give a new or empty folder"
            )
    parent = _existing_parent(path.parent)  # the staging folder is made next to the target
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputFolderError(f"--out {out}: cannot write in {parent} (permission denied)")
    return path


class StagedRun:
    """A context manager: ``folder`` is where the run writes; on a clean exit the run is marked
    complete and moved to the target, on an exception (Ctrl-C included) it is removed."""

    def __init__(self, target: Path, verb: str) -> None:
        self.target = target
        self.verb = verb
        self.folder = target  # set on entry

    def __enter__(self) -> StagedRun:
        parent = self.target.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self.folder = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.partial-", dir=parent))
        except OSError as error:
            raise OutputFolderError(f"--out {self.target}: cannot create it ({error.strerror})") from error
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            return
        write_atomically(self.folder / RUN_MARKER, json.dumps({"verb": self.verb, "complete": True}) + "\n")
        self._move_into_place()

    def _move_into_place(self) -> None:
        old = None
        if self.target.exists():
            if not any(self.target.iterdir()):
                try:
                    self.target.rmdir()
                except OSError:  # the working directory, a mount point: fill it in place
                    for item in self.folder.iterdir():
                        os.replace(item, self.target / item.name)
                    self.folder.rmdir()
                    return
            else:  # an earlier run, checked before the work began: swapped out, then removed
                old = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.old-", dir=self.target.parent))
                os.replace(self.target, old / "run")
        os.replace(self.folder, self.target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def write_atomically(path: Path, text: str) -> None:
    """Writes ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_json_atomically(path: Path, data: Any) -> None:
    write_atomically(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


def _existing_parent(path: Path) -> Path:
    parent = path
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise OutputFolderError(f"--out {path}: {parent} is a file, not a folder")
    return parent
