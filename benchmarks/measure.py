"""Run one benchmark task in its own process and measure wall, CPU, peak RSS and the machine load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SAMPLE_SECONDS = 0.1
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


@dataclass
class Measurement:
    """One task's cost: the process as a whole and the work inside it."""

    task: str
    ok: bool
    wall_s: float
    user_s: float
    sys_s: float
    max_rss_mb: float
    tree_peak_rss_mb: float
    inner_wall_s: float | None
    load_before: list[float]
    load_after: list[float]
    info: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields plus CPU seconds."""
        return {**asdict(self), "cpu_s": round(self.cpu_s, 3)}


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields start after the last ')'.
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def tree_rss_kb(root: int) -> int:
    """Resident memory of a process and all its descendants, in KiB."""
    tree = _children()
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        stack.extend(tree.get(pid, []))
        try:
            with open(f"/proc/{pid}/statm", "rb") as fh:
                total += int(fh.read().split()[1]) * PAGE_KB
        except OSError:
            continue
    return total


class _TreeSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(SAMPLE_SECONDS):
            self.peak_kb = max(self.peak_kb, tree_rss_kb(self.pid))


def run_task(task: str, args: dict[str, Any], timeout_s: float | None = None) -> Measurement:
    """Run `benchmarks.child <task>` with `args` in a fresh interpreter and measure it.

    Wall time is the whole process (interpreter start and imports included); `inner_wall_s` is
    the work the child timed itself. CPU comes from `wait4` (the child and the descendants it
    waited for); peak RSS is the child's own VmHWM, and the tree peak is the larger of that and
    the RSS of the child plus all its descendants sampled every 0.1 s.
    """
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        result_path = Path(tmp) / "result.json"
        log_path = Path(tmp) / "child.log"
        cmd = [sys.executable, "-m", "benchmarks.child", task, json.dumps(args), str(result_path)]
        load_before = [round(x, 2) for x in os.getloadavg()]
        started = time.perf_counter()
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
            sampler = _TreeSampler(proc.pid)
            sampler.start()
            status, rusage = _wait(proc, timeout_s)
        wall = time.perf_counter() - started
        sampler.stop.set()
        sampler.join()
        load_after = [round(x, 2) for x in os.getloadavg()]
        ok = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        payload: dict[str, Any] = {}
        if result_path.exists():
            payload = json.loads(result_path.read_text())
        # ru_maxrss is not used: after fork/vfork + exec it keeps the parent's high-water mark.
        self_peak = float(payload.get("self_peak_rss_mb") or 0.0)
        error = "" if ok else log_path.read_text(errors="replace")[-3000:]
        return Measurement(
            task=task,
            ok=ok and bool(payload.get("ok", True)),
            wall_s=round(wall, 3),
            user_s=round(rusage.ru_utime, 3),
            sys_s=round(rusage.ru_stime, 3),
            max_rss_mb=self_peak,
            tree_peak_rss_mb=round(max(sampler.peak_kb / 1024, self_peak), 1),
            inner_wall_s=payload.get("inner_wall_s"),
            load_before=load_before,
            load_after=load_after,
            info=payload.get("info", {}),
            error=error or payload.get("error", ""),
        )


def _wait(proc: subprocess.Popen, timeout_s: float | None) -> tuple[int, Any]:
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return status, rusage
        if deadline is not None and time.monotonic() > deadline:
            proc.kill()
            _, status, rusage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            return status, rusage
        time.sleep(0.05)
