"""What ``ltx2eff demo`` and ``ltx2eff eval`` share around their work: arguments checked first
(before torch or the model is imported), the packages they need named in one line when missing,
the output folder checked and staged, and every failure, Ctrl-C included, reported in one line.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from ltx2_efficient.demo.output_folder import OutputFolderError, StagedRun, check_output_folder, shorten
from ltx2_efficient.demo.requirements import MissingPackages, require_packages

Checked = TypeVar("Checked")

# Exit codes: bad arguments or setup, failure while running, interrupted (128 + SIGINT).
EXIT_USAGE = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


def run_verb(
    verb: str,
    out: str | None,
    force: bool,
    check: Callable[[], Checked],
    work: Callable[[Checked, Path], str],
    default_out: str | None = None,
) -> int:
    """``check()`` validates the arguments (ValueError on bad ones) without heavy imports;
    ``work(checked, folder)`` writes the run into ``folder`` and returns what to say of it
    ("report.md, in 12 s") once the run is in place at ``out``. ``out`` None means
    ``default_out``, which gives way to a new numbered folder when an earlier run is there."""
    try:
        checked = check()
        require_packages()
        given = out if out is not None else (default_out or "")
        target = check_output_folder(given, force, numbered=out is None)
        if out is None and target != Path(given).absolute():
            print(f"ltx2eff {verb}: {given} holds an earlier run: writing {target} instead", file=sys.stderr)
    except (ValueError, MissingPackages) as error:  # OutputFolderError included
        return _fail(verb, error, EXIT_USAGE)
    except OSError as error:  # from check(); the output folder's own are OutputFolderErrors
        where = f" {shorten(error.filename)}" if isinstance(error.filename, str) else ""
        return _fail(verb, f"cannot check{where}: {error.strerror or error}", EXIT_USAGE)
    except KeyboardInterrupt:
        return _fail(verb, "interrupted before starting; nothing written", EXIT_INTERRUPTED)
    try:
        with _terminate_as_interrupt(), StagedRun(target, verb) as staged:
            done = work(checked, staged.folder)
    except KeyboardInterrupt:
        return _fail(verb, f"interrupted; nothing written to {target}", EXIT_INTERRUPTED)
    except OutputFolderError as error:
        return _fail(verb, error, EXIT_USAGE)
    except ValueError as error:
        return _fail(verb, error, EXIT_USAGE)
    except OSError as error:
        where = f" {error.filename}" if error.filename else ""
        return _fail(
            verb, f"cannot write{where}: {error.strerror or error}; nothing written to {target}", EXIT_FAILED
        )
    print(f"wrote {target}/ ({done})")
    return 0


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM ends the run like Ctrl-C: the staging folder is removed, one line says so."""

    def interrupt(_sig: int, _frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave SIGTERM alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _fail(verb: str, message: object, code: int) -> int:
    print(f"ltx2eff {verb}: {message}", file=sys.stderr)
    return code
