"""Peak resident memory and CPU time of this process's descendants (the Dagster step processes), sampled from /proc:
psutil is not a dependency, and RUSAGE_CHILDREN misses grandchildren the forkserver reaps itself."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(p) for p in task.read_text().split()]
        except OSError:
            continue
    return found


#: clock ticks a second, the unit of /proc/<pid>/stat's CPU times
TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of `pid` so far (0 once it is gone)."""
    try:
        # the command name (field 2) may hold spaces: the fields after its closing parenthesis are fixed
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def _rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@dataclass
class ProcessUse:
    peak_rss: int = 0
    #: CPU seconds at the last sample (a process's time after its last sample is not seen)
    cpu_s: float = 0.0


class PeakMemory:
    """Largest single descendant process and largest sum over descendants, sampled every `interval` s, and each
    descendant's peak RSS and CPU time by pid (`processes`), to name the steps that cost the most."""

    def __init__(self, interval: float = 0.1, exclude: set[int] | None = None) -> None:
        self.interval = interval
        #: descendants that are not the pipeline's (the sandbox's fakes), left out with their own children
        self.exclude = exclude or set()
        self.peak_process = 0
        self.peak_total = 0
        self.processes: dict[int, ProcessUse] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.wait(self.interval):
            stack, sizes = [pid for pid in _children(me) if pid not in self.exclude], []
            while stack:
                pid = stack.pop()
                size, cpu_s = _rss_bytes(pid), _cpu_seconds(pid)
                sizes.append(size)
                use = self.processes.setdefault(pid, ProcessUse())
                use.peak_rss, use.cpu_s = max(use.peak_rss, size), max(use.cpu_s, cpu_s)
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


def cpu_seconds(pids: set[int]) -> float:
    """CPU time of these processes so far."""
    return sum(_cpu_seconds(pid) for pid in pids)


def rss_bytes(pids: set[int]) -> int:
    return sum(_rss_bytes(pid) for pid in pids)
