"""Running rabb on a new pseudo-terminal, as a user at a terminal does."""

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time


class TerminalProcess:
    """rabb running with stdin, stdout and stderr on a new pseudo-terminal."""

    def __init__(
        self, args: list[str], env: dict[str, str], columns: int | None = None
    ) -> None:
        self.master, slave = pty.openpty()
        if columns is not None:
            size = struct.pack("HHHH", 40, columns, 0, 0)
            fcntl.ioctl(slave, termios.TIOCSWINSZ, size)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rabb_cli", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
        )
        os.close(slave)
        self.output = bytearray()
        self.closed = False

    def read_until(self, marker: bytes, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while marker not in self.output and not self.closed:
            if time.monotonic() > deadline:
                break
            self._read_chunk(deadline - time.monotonic())
        return bytes(self.output)

    def read_all(self, timeout: float = 60) -> bytes:
        deadline = time.monotonic() + timeout
        while not self.closed and time.monotonic() < deadline:
            self._read_chunk(deadline - time.monotonic())
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        finally:
            os.close(self.master)
        return bytes(self.output)

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def _read_chunk(self, timeout: float) -> None:
        ready, _, _ = select.select([self.master], [], [], max(timeout, 0))
        if not ready:
            return
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # Linux reports EIO once the child closed the terminal.
            chunk = b""
        if chunk:
            self.output += chunk
        else:
            self.closed = True


def run_in_terminal(
    args: list[str], env: dict[str, str], columns: int | None = None
) -> bytes:
    terminal = TerminalProcess(args, env, columns)
    output = terminal.read_all()
    assert terminal.returncode == 0, output
    return output
