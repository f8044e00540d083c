"""Peak resident memory of this process's descendants (the Dagster step processes), sampled from /proc:
psutil is not a dependency, and RUSAGE_CHILDREN misses grandchildren the forkserver reaps itself."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(p) for p in task.read_text().split()]
        except OSError:
            continue
    return found


def _rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class PeakMemory:
    """Largest single descendant process and largest sum over descendants, sampled every `interval` s."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.peak_process = 0
        self.peak_total = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.wait(self.interval):
            stack, sizes = _children(me), []
            while stack:
                pid = stack.pop()
                sizes.append(_rss_bytes(pid))
                stack += _children(pid)
            if sizes:
                self.peak_process = max(self.peak_process, max(sizes))
                self.peak_total = max(self.peak_total, sum(sizes))

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def self_rss() -> int:
    return _rss_bytes(os.getpid())
