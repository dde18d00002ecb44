"""Seam's own processes (`seam serve`, `seam worker`, `seam scheduler`) run for real, their stderr read
line by line."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Running:
    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._queue.put(line.rstrip("\n"))

    def wait_for(self, found: Callable[[str], bool], timeout: float = 60) -> str:
        """The first line (since the last call) for which `found` holds; fails after `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None and self._queue.empty():
                    break
                continue
            self.lines.append(line)
            if found(line):
                return line
        raise AssertionError("no such line; stderr so far:\n" + "\n".join(self.lines[-40:]))

    def drain(self, settle_s: float = 0.5) -> list[str]:
        """Every line written until the process is quiet for `settle_s`."""
        while True:
            try:
                self.lines.append(self._queue.get(timeout=settle_s))
            except queue.Empty:
                return self.lines


@contextmanager
def seam_process(*args: str, env: dict[str, str]) -> Iterator[Running]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", *args],
        env={**os.environ, "SEAM_EMBEDDING": "off", **env},
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        yield Running(proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
