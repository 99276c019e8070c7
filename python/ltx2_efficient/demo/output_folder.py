"""The output folder of ``ltx2eff demo`` and ``ltx2eff eval``: never mixed with an older run,
never half written.

A run writes into a hidden staging folder next to ``--out`` and renames it into place once
complete (a rename within one file system is atomic), so ``--out`` holds either nothing new or
one whole run. An existing non-empty folder is refused unless ``--force`` is given and the
folder is an earlier run of this command (it holds the run marker): folders with other files
are never replaced. Without ``--out`` the default folder is never refused: when it is taken,
the run goes to the first free numbered folder next to it (``ltx2eff-demo-2``, ...), and says
so. An interrupted or failed run removes its staging folder.
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


MAX_NUMBERED = 999


def check_output_folder(out: str, force: bool, numbered: bool = False) -> Path:
    """The resolved --out, checked before any work starts: not empty, not a file, in a writable
    parent, and either absent, empty, or (with ``force``) an earlier run. ``numbered`` (the
    default folder, no --out given): a taken folder gives way to the first free ``<name>-N``.
    Every problem, a file system error included, is an OutputFolderError of one line."""
    if not out.strip():
        raise OutputFolderError(f"--out must name a folder, got {out!r}")
    shown = shorten(out)
    try:
        path = Path(out).expanduser().absolute()
        if numbered and not force and _taken(path):
            path = next_free_folder(path)
        if path.exists() and not path.is_dir():
            raise OutputFolderError(f"--out {shown} is a file, not a folder")
        if path.is_dir() and any(path.iterdir()):
            if not force:
                raise OutputFolderError(
                    f"--out {shown} is not empty: give a new or empty folder, or --force to replace an earlier run there"
                )
            if not (path / RUN_MARKER).is_file():
                raise OutputFolderError(
                    f"--out {shown} holds files that are not an ltx2eff run: not replaced, even with --force; "
                    "give a new or empty folder"
                )
        parent = _existing_parent(path.parent)  # the staging folder is made next to the target
        if not os.access(parent, os.W_OK | os.X_OK):
            raise OutputFolderError(
                f"--out {shown}: cannot write in {shorten(str(parent))} (permission denied)"
            )
    except OSError as error:  # too long a name, a folder that cannot be read or entered, ...
        raise folder_error(out, error) from error
    return path


def shorten(path: str, limit: int = 80) -> str:
    """``path`` as a message shows it: a long one keeps its start and end around '...'."""
    if len(path) <= limit:
        return path
    head = (limit - 3) // 2
    return f"{path[:head]}...{path[len(path) - (limit - 3 - head) :]}"


def folder_error(out: str | Path, error: OSError) -> OutputFolderError:
    """The one-line error for a file system error met on --out: "--out <path>: <why>"."""
    return OutputFolderError(f"--out {shorten(str(out))}: {error.strerror or error}")


def _taken(path: Path) -> bool:
    return path.exists() and (not path.is_dir() or any(path.iterdir()))


def next_free_folder(path: Path) -> Path:
    """The first of ``<path>-2``, ``<path>-3``, ... that does not exist or is empty."""
    for n in range(2, MAX_NUMBERED + 1):
        candidate = path.with_name(f"{path.name}-{n}")
        if not _taken(candidate):
            return candidate
    raise OutputFolderError(f"{path}-2 ... {path}-{MAX_NUMBERED} are all taken: give --out")


class StagedRun:
    """A context manager: ``folder`` is where the run writes; on a clean exit the run is marked
    complete and moved to the target, on an exception (Ctrl-C included) it is removed, with the
    folders made for it above the target when they are still empty. A file system error while
    staging or moving into place is an OutputFolderError of one line."""

    def __init__(self, target: Path, verb: str) -> None:
        self.target = target
        self.verb = verb
        self.folder = target  # set on entry
        self.staged = False
        # The highest folder above the target that this run created (None: all existed).
        self.created: Path | None = None

    def __enter__(self) -> StagedRun:
        parent = self.target.parent
        try:
            self.created = _first_missing(parent)
            parent.mkdir(parents=True, exist_ok=True)
            self.folder = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.partial-", dir=parent))
            self.staged = True
            os.chmod(self.folder, 0o777 & ~_umask())  # mkdtemp makes it private
        except BaseException as error:
            self._discard()
            if isinstance(error, OSError):
                raise OutputFolderError(
                    f"--out {shorten(str(self.target))}: cannot create it ({error.strerror or error})"
                ) from error
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None:
            self._discard()
            return
        try:
            write_atomically(
                self.folder / RUN_MARKER, json.dumps({"verb": self.verb, "complete": True}) + "\n"
            )
            self._move_into_place()
        except BaseException as error:
            self._discard()
            if isinstance(error, OSError):
                raise folder_error(self.target, error) from error
            raise

    def _discard(self) -> None:
        """Removes the staging folder, then the folders this run made above the target, from
        the nearest up, while they are empty (another process may have written there since)."""
        if self.staged:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.staged = False
        if self.created is None:
            return
        folder = self.target.parent
        while True:
            try:
                folder.rmdir()
            except OSError:
                break
            if folder == self.created or folder == folder.parent:
                break
            folder = folder.parent
        self.created = None

    def _move_into_place(self) -> None:
        old = None
        if self.target.exists():
            if not any(self.target.iterdir()):
                try:
                    self.target.rmdir()
                except OSError:  # the working directory, a mount point: fill it in place
                    # the marker last, so that a move cut short never looks like a whole run
                    for item in sorted(self.folder.iterdir(), key=lambda item: item.name == RUN_MARKER):
                        os.replace(item, self.target / item.name)
                    self.folder.rmdir()
                    self.staged = False
                    return
            else:  # an earlier run, checked before the work began: swapped out, then removed
                old = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.old-", dir=self.target.parent))
                try:
                    os.replace(self.target, old / "run")
                except BaseException:
                    old.rmdir()
                    raise
        try:
            os.replace(self.folder, self.target)
        except BaseException:
            if old is not None:  # put the earlier run back rather than lose both
                os.replace(old / "run", self.target)
                old.rmdir()
            raise
        self.staged = False
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def write_atomically(path: Path, text: str) -> None:
    """Writes ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        os.chmod(temp, 0o666 & ~_umask())  # mkstemp makes it private
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_json_atomically(path: Path, data: Any) -> None:
    write_atomically(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


def _umask() -> int:
    """The process umask (read by setting it, then restored)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _existing_parent(path: Path) -> Path:
    """The nearest existing folder at or above ``path``, where the staging folder's parents
    will be made."""
    parent = path
    try:
        while not parent.exists():
            parent = parent.parent
        is_dir = parent.is_dir()
    except OSError as error:
        raise folder_error(path, error) from error
    if not is_dir:
        raise OutputFolderError(f"--out {shorten(str(path))}: {shorten(str(parent))} is a file, not a folder")
    return parent


def _first_missing(path: Path) -> Path | None:
    """The highest missing folder of ``path`` and its parents (None when ``path`` exists)."""
    missing = None
    while not path.exists() and path != path.parent:
        missing = path
        path = path.parent
    return missing
