"""``ltx2eff thermal hold`` when its command is stopped by someone else: a terminal read from the
command's own process group (SIGTTIN, run in a pseudo-terminal), ``kill -STOP``, and signals to
hold that must always end the run. Every case is bounded by a timeout."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.skipif(os.name == "nt", reason="thermal hold is POSIX only")

NO_NVML = {"LTX2EFF_NVML_LIBRARY": "/nonexistent/libnvidia-ml.so.1"}
TIMEOUT_S = 20.0


def hold_in_pty(cli: str, command: list[str], interrupt_after: bytes | None = None) -> tuple[int, str]:
    """Runs hold as the foreground job of a fresh pseudo-terminal; Ctrl-C is typed once
    ``interrupt_after`` appears in its output. Returns the exit code and the terminal's text."""
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # the child: hold, with the pty as its controlling terminal
        os.environ.update(NO_NVML)
        os.execv(cli, [cli, "thermal", "hold", "--", *command])
    out = b""
    interrupted = False
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:  # EIO: the terminal's last user has gone
                    break
                if not data:
                    break
                out += data
            if interrupt_after is not None and interrupt_after in out and not interrupted:
                os.write(fd, b"\x03")  # Ctrl-C: SIGINT to the terminal's foreground group
                interrupted = True
    finally:
        os.close(fd)
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status), out.decode(errors="replace")
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail(f"hold did not end within {TIMEOUT_S} s: {out.decode(errors='replace')}")


def start_hold(cli: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [cli, "thermal", "hold", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **NO_NVML},
    )


def wait_for_line(proc: subprocess.Popen[str]) -> str:
    ready, _, _ = select.select([proc.stdout], [], [], TIMEOUT_S)
    assert ready, "the command printed nothing"
    assert proc.stdout is not None
    return proc.stdout.readline().strip()


@pytest.mark.parametrize(
    "command",
    [
        ["sh", "-c", "read x; echo got $x"],
        [sys.executable, "-c", "input('name? ')"],
    ],
    ids=["sh-read", "python-input"],
)
def test_a_terminal_read_ends_the_run_with_a_line_saying_why(ltx2eff_cli, command):
    code, text = hold_in_pty(ltx2eff_cli, command)
    assert "the command was stopped by SIGTTIN: it used the terminal" in text, text
    assert "< /dev/null" in text
    assert code == 128 + signal.SIGTERM, text
    assert f"exit code {code}" in text.strip().splitlines()[-1]


def test_ctrl_c_ends_a_command_that_stopped_itself(ltx2eff_cli):
    code, text = hold_in_pty(ltx2eff_cli, ["sh", "-c", "kill -STOP $$; echo not reached"], b"not by hold")
    assert "the command was stopped by SIGSTOP (not by hold)" in text, text
    assert "SIGINT: passing it to the command" in text
    assert "not reached" not in text
    assert code == 128 + signal.SIGINT, text


def wait_until_stopped(pid: int) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        state = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True).stdout
        if state.strip().startswith("T"):
            time.sleep(1.0)  # hold notices the stop within one pacing period
            return
        time.sleep(0.05)
    pytest.fail(f"the command {pid} never stopped")


def test_sigterm_ends_a_stopped_command(ltx2eff_cli):
    proc = start_hold(ltx2eff_cli, "--", "sh", "-c", "echo $$; kill -STOP $$; echo not reached")
    wait_until_stopped(int(wait_for_line(proc)))
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=TIMEOUT_S)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "not by hold" in err and "SIGTERM: passing it to the command" in err
    assert "not reached" not in out


def test_a_command_continued_by_someone_else_runs_on(ltx2eff_cli):
    proc = start_hold(ltx2eff_cli, "--", "sh", "-c", "echo $$; kill -STOP $$; echo resumed; sleep 1; exit 4")
    child = int(wait_for_line(proc))
    wait_until_stopped(child)
    os.kill(child, signal.SIGCONT)
    out, err = proc.communicate(timeout=TIMEOUT_S)
    assert proc.returncode == 4, err
    assert "resumed" in out
    assert "stopped by SIGSTOP (not by hold)" in err and "the command was continued" in err


def test_a_paced_command_that_stops_itself_is_noticed(ltx2eff_cli):
    # Under pacing hold sends SIGSTOP itself: only the command's own stop is reported.
    proc = start_hold(
        ltx2eff_cli,
        "--simulate",
        "--power",
        "0.4",
        "--",
        sys.executable,
        "-c",
        "import os, signal, time\n"
        "t = time.monotonic()\n"
        "while time.monotonic() - t < 1.5: pass\n"
        "print('stopping', flush=True)\n"
        "os.kill(os.getpid(), signal.SIGSTOP)\n"
        "print('not reached', flush=True)",
    )
    assert wait_for_line(proc) == "stopping"
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=TIMEOUT_S)
    assert err.count("(not by hold)") == 1, err
    assert proc.returncode == 128 + signal.SIGINT, err
    assert "not reached" not in out


def test_a_second_signal_kills_a_command_that_ignores_the_first(ltx2eff_cli):
    proc = start_hold(
        ltx2eff_cli,
        "--",
        sys.executable,
        "-c",
        "import signal, time\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)",
    )
    assert wait_for_line(proc) == "ready"
    proc.send_signal(signal.SIGINT)
    time.sleep(0.5)
    assert proc.poll() is None  # the command ignores SIGINT: it runs on
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=TIMEOUT_S)
    assert "SIGINT again: killing the command" in err
    assert proc.returncode == 128 + signal.SIGKILL, err
