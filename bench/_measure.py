"""Where a ``replicas_load.py`` phase's time goes: a thread that samples, every
``INTERVAL`` s, the CPU time of each process of the run (the replicas, the org, this
driver, the PostgreSQL backends of the bench's database), the machine's idle CPU,
and who holds and who waits for the ledger's advisory lock (``pg_locks`` joined with
``pg_stat_activity``): a holder ``active`` is the server working under the lock, one
``idle in transaction`` is the server waiting for its replica's next statement."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil
import psycopg

from tui.service.db.postgres import LEDGER_LOCK

INTERVAL = 0.1

_SAMPLE = (
    "SELECT a.pid, a.state, l.granted FROM pg_stat_activity a "
    "LEFT JOIN pg_locks l ON l.pid = a.pid AND l.locktype = 'advisory' AND l.classid = %s "
    "WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()"
)


def _cpu(pid: int) -> float | None:
    try:
        t = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return None
    return float(t.user + t.system)


@dataclass
class Meter:
    """Samples until :meth:`stop`; ``processes`` names the pids to follow (a name may
    cover several: the replicas' pids are read again each round, a killed one keeps its
    last figure); ``inflight`` counts the requests the driver has waiting."""

    db_url: str
    processes: Callable[[], dict[str, list[int]]]
    inflight: Callable[[], int]
    used: dict[tuple[str, int], list[float]] = field(default_factory=dict)  # first, last
    lock: Counter[str] = field(default_factory=Counter)
    samples: int = 0
    began: float = 0.0
    seconds: float = 0.0
    idle: float = 0.0
    busy: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Meter:
        self.began, self._idle0 = time.perf_counter(), psutil.cpu_times()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.seconds = time.perf_counter() - self.began
        now = psutil.cpu_times()
        self.idle = now.idle - self._idle0.idle
        self.busy = sum(now) - sum(self._idle0) - self.idle

    def _note(self, name: str, pid: int, fresh: bool) -> None:
        value = _cpu(pid)
        if value is None:
            return
        first = 0.0 if fresh else value  # a backend born during the run: all of it
        self.used.setdefault((name, pid), [first, value])[1] = value

    def _run(self) -> None:
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            first_round = True
            while not self._stop.wait(INTERVAL):
                rows = conn.execute(_SAMPLE, (LEDGER_LOCK,)).fetchall()
                self.samples += 1
                holders = [r for r in rows if r[2] is True]
                waiting = sum(1 for r in rows if r[2] is False)
                self.lock["held"] += bool(holders)
                self.lock["held, server working"] += any(r[1] == "active" for r in holders)
                self.lock["waiters"] += waiting
                self.lock["inflight"] += self.inflight()
                for name, pids in self.processes().items():
                    for pid in pids:
                        self._note(name, pid, fresh=False)
                for pid, *_ in rows:
                    self._note("postgres backends", pid, fresh=not first_round)
                first_round = False

    def cpu(self) -> dict[str, float]:
        """CPU seconds used over the run, by name."""
        out: dict[str, float] = {}
        for (name, _pid), (first, last) in self.used.items():
            out[name] = out.get(name, 0.0) + last - first
        return out

    def lines(self, items: int) -> list[str]:
        n = max(self.samples, 1)
        cpu = self.cpu()
        ours = sum(cpu.values())
        cores = psutil.cpu_count() or 1
        out = [
            f"CPU over {self.seconds:.1f} s on {cores} cores: idle {self.idle:.1f} s "
            f"({self.idle / (self.seconds * cores):.0%}), busy {self.busy:.1f} s, of it this "
            f"run's processes {ours:.1f} s, other work on the machine {self.busy - ours:.1f} s; "
            f"load average {psutil.getloadavg()[0]:.1f}"
        ]
        for name, seconds in sorted(cpu.items(), key=lambda kv: -kv[1]):
            per = seconds / items * 1_000_000 if items else 0.0
            out.append(f"  CPU {name:24} {seconds:7.1f} s  = {per:6.2f} ms per 1,000 items")
        out.append(
            f"ledger lock ({self.samples} samples): held {self.lock['held'] / n:.0%} of the "
            f"time (the server working under it {self.lock['held, server working'] / n:.0%}, "
            f"the rest waiting for its replica), waiters {self.lock['waiters'] / n:.2f} on "
            f"average; requests the driver had waiting {self.lock['inflight'] / n:.1f} on average"
        )
        return out
