"""Worker processes with a hard time limit per input.

Workers are forked once (symparam, sympy and the parser already imported and warm)
and reused. Each runs in its own scratch folder, its stdout and stderr sent to a file
there (so code a hostile input runs cannot write to the terminal unseen), under a
memory limit. An input that runs past the limit is a ``hang``: the worker is asked
for its Python stack (``faulthandler`` on SIGUSR1, so the finding says where it
hung), killed, and a new one forked.

The limit is on the worker's CPU time by default (``clock="cpu"``, read from
``/proc``): on a machine shared with other jobs, wall time measures their load as much
as symparam's work (at a load average of 9 on 2 cores an input gets a quarter of a
core). A worker past ``WALL_FACTOR`` times the limit in wall time is a hang too (an
input that waits without computing; symparam never waits, so the factor is generous:
at 5, processes starved by a load average of 10 to 13 passed it with under 1 s of CPU).
``clock="wall"`` limits wall time alone.
"""
from __future__ import annotations

import faulthandler
import multiprocessing
import os
import re
import resource
import secrets
import shutil
import signal
import sys
import tempfile
import time
from multiprocessing.connection import wait
from pathlib import Path
from typing import Callable, Iterable, Iterator

from . import classify as C
from .gen_templates import SECRET_ENV
from .target import OUTPUT_FILE, Result, execute, run, warm_up

MEMORY_LIMIT = 2 << 30  # bytes a worker may add to its address space after start-up
WALL_FACTOR = 20  # with clock="cpu": wall seconds, in limits, before a worker is a hang
POLL = 0.1  # seconds between looks at the busy workers' CPU time
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) the process has used, from /proc; None if unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK
    except (OSError, IndexError, ValueError):
        return None


def _serve(conn, folder: str, target: Callable) -> None:
    os.chdir(folder)
    fd = os.open(OUTPUT_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    # Python's streams too (under pytest they are capture objects, not fds 1 and 2).
    sys.stdout = open(1, "w", closefd=False, buffering=1, errors="replace")
    sys.stderr = open(2, "w", closefd=False, buffering=1, errors="replace")
    faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=False)
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[0])
        limit = pages * os.sysconf("SC_PAGE_SIZE") + MEMORY_LIMIT
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (OSError, ValueError):
        pass
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
    while True:
        try:
            case = conn.recv()
        except EOFError:
            return
        if case is None:
            return
        conn.send(execute(case, target))


_FRAME = re.compile(r'File "([^"]+)", line (\d+) in (\S+)')


def stack_signature(dump: str) -> str:
    """Where a hung worker was: its innermost frame in symparam, and its innermost."""
    frames = _FRAME.findall(dump)  # most recent call first
    if not frames:
        return "hang (no stack)"
    ours = [f for f in frames if "/symparam/" in f[0]]
    picked = ours[:1] + frames[:1]
    where = [f"{'/'.join(Path(p).parts[-2:])}:{name}" for p, _, name in picked]
    return "hang " + " ".join(dict.fromkeys(where))


class _Worker:
    def __init__(self, ctx, folder: Path, target: Callable):
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, str(folder), target), daemon=True)
        self.proc.start()
        child.close()
        self.job = None       # (key, case, start, CPU seconds at start)

    def cpu(self) -> float | None:
        return cpu_seconds(self.proc.pid)

    def stack(self) -> str:
        """Ask the worker for its stack, then read it from its output file."""
        try:
            os.kill(self.proc.pid, signal.SIGUSR1)
            time.sleep(0.2)
            return (self.folder / OUTPUT_FILE).read_text(errors="replace")
        except OSError:
            return ""

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join()
        self.conn.close()


class Pool:
    """``jobs`` workers running ``target`` on cases, ``timeout`` seconds each."""

    def __init__(self, jobs: int = 1, timeout: float = 2.0, target: Callable = run,
                 clock: str = "cpu"):
        self.jobs, self.timeout, self.target = max(1, jobs), timeout, target
        self.clock = clock if cpu_seconds(os.getpid()) is not None else "wall"
        self.root = Path(tempfile.mkdtemp(prefix="symparam-fuzz-"))
        os.environ.setdefault(SECRET_ENV, secrets.token_hex(16))
        self.ctx = multiprocessing.get_context("fork")
        if target is run:
            warm_up()
        self.count = 0
        self.workers = [self._spawn() for _ in range(self.jobs)]

    def _spawn(self) -> _Worker:
        self.count += 1
        return _Worker(self.ctx, self.root / f"w{self.count}", self.target)

    def _replace(self, w: _Worker) -> _Worker:
        w.kill()
        shutil.rmtree(w.folder, ignore_errors=True)
        new = self._spawn()
        self.workers[self.workers.index(w)] = new
        return new

    def map(self, items: Iterable, timeout: float | None = None) -> Iterator:
        """(key, case) pairs in; (key, case, Result) out, in completion order."""
        limit = timeout or self.timeout
        items = iter(items)
        done = False
        while True:
            for w in list(self.workers):
                if w.job is None and not done:
                    try:
                        key, case = next(items)
                    except StopIteration:
                        done = True
                        continue
                    w.conn.send(case)
                    w.job = (key, case, time.monotonic(), w.cpu())
            busy = [w for w in self.workers if w.job is not None]
            if not busy:
                return
            if self.clock == "wall":
                first = min(w.job[2] for w in busy) + limit
                pause = max(0.0, first - time.monotonic())
            else:
                pause = POLL
            ready = wait([w.conn for w in busy], timeout=pause)
            for w in busy:
                key, case, start, cpu0 = w.job
                if w.conn in ready:
                    try:
                        result = w.conn.recv()
                    except (EOFError, OSError):
                        w.proc.join(1)
                        code = w.proc.exitcode
                        result = Result(C.TRACEBACK, f"the worker died (exit code {code})",
                                        f"worker died {code}", time.monotonic() - start)
                        self._replace(w)
                        yield key, case, result
                        continue
                    w.job = None
                    if result.cls == C.ESCAPE:  # its state may be changed: start afresh
                        self._replace(w)
                    yield key, case, result
                    continue
                wall = time.monotonic() - start
                cpu = w.cpu() if self.clock == "cpu" else None
                used = cpu - cpu0 if cpu is not None and cpu0 is not None else None
                if self.clock == "wall" and wall >= limit:
                    detail = f"over {limit:g} s"
                elif used is not None and used >= limit:
                    detail = f"over {limit:g} s of CPU ({wall:.1f} s of wall time)"
                elif self.clock == "cpu" and wall >= limit * WALL_FACTOR:
                    detail = (f"over {limit * WALL_FACTOR:g} s of wall time "
                              f"({used if used is not None else float('nan'):.1f} s of CPU)")
                else:
                    continue
                signature = stack_signature(w.stack())
                self._replace(w)
                yield key, case, Result(C.HANG, detail, signature, used if used is not None
                                        else wall)

    def run_one(self, case, timeout: float | None = None) -> Result:
        for _, _, result in self.map([(0, case)], timeout):
            return result
        raise AssertionError("no result")  # pragma: no cover

    def close(self) -> None:
        for w in self.workers:
            try:
                w.conn.send(None)
            except OSError:
                pass
            w.proc.join(2)
            if w.proc.is_alive():
                w.proc.kill()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
