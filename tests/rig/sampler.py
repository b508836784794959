"""Watching a safety property DURING a fault, not only at the end (issue 8).

WritableSampler polls @@read_only on every running server of a MariaDBRig every
`period` seconds (20 ms by default) in a thread, over root's unix socket with one
persistent PyMySQL connection per server (a fence that kills the connection costs one
sample: it reconnects). It records every sample's set of writable servers:

    with WritableSampler(env.db) as smp:
        ... fault, failover ...
    check(smp.max_writable <= 1, smp.describe())

A server that cannot be asked (stopped, hung, killed) is "unknown" in that sample, never
"read-only": the sampler only claims what a server answered."""

import threading
import time

from rig.util import MissingPrerequisite

try:
    import pymysql
except ImportError:  # reported by the caller through available()
    pymysql = None


def available():
    return pymysql is not None


class WritableSampler:
    def __init__(self, db, period=0.02, servers=None):
        if pymysql is None:
            raise MissingPrerequisite("PyMySQL missing (Debian package python3-pymysql; deploy/install-deps.sh)")
        self.db = db
        self.period = period
        self.servers = list(servers) if servers is not None else list(db.servers)
        self.samples = 0
        self.max_writable = 0
        self.worst = []          # (monotonic time, [writable]) for samples with > 1 writable
        self.timeline = []       # (monotonic time, frozenset writable) at every change
        self.answered = {i: 0 for i in self.servers}
        self._conns = {}
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _conn(self, i):
        c = self._conns.get(i)
        if c is None:
            s = self.db.servers[i]
            c = pymysql.connect(unix_socket=s.socket, user="root", password=self.db.passwords.get("root", ""),
                                connect_timeout=1, read_timeout=1, write_timeout=1, autocommit=True)
            self._conns[i] = c
        return c

    def _read_only(self, i):
        """True / False as the server answered, None if it did not."""
        if not self.db.running(i):
            return None
        try:
            with self._conn(i).cursor() as cur:
                cur.execute("SELECT @@read_only")
                return str(cur.fetchone()[0]) == "1"
        except Exception:  # noqa: BLE001 - killed by a fence, stopped, hung: unknown
            c = self._conns.pop(i, None)
            if c is not None:
                try:
                    c.close()
                except Exception:  # noqa: BLE001
                    pass
            return None

    def _run(self):
        last = None
        while not self._stop.is_set():
            t = time.monotonic()
            writable = []
            for i in self.servers:
                ro = self._read_only(i)
                if ro is not None:
                    self.answered[i] += 1
                if ro is False:
                    writable.append(i)
            self.samples += 1
            self.max_writable = max(self.max_writable, len(writable))
            if len(writable) > 1:
                self.worst.append((t, writable))
            w = frozenset(writable)
            if w != last:
                self.timeline.append((t, w))
                last = w
            self._stop.wait(max(0.0, self.period - (time.monotonic() - t)))

    def __enter__(self):
        self.t0 = time.monotonic()
        self._t.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def stop(self):
        self._stop.set()
        self._t.join(10)
        for c in self._conns.values():
            try:
                c.close()
            except Exception:  # noqa: BLE001
                pass
        self._conns.clear()

    def writable_other_than(self, allowed):
        """[(time, sorted writable)] for every change at which a server not in `allowed`
        was writable."""
        allowed = set(allowed)
        return [(t, sorted(w)) for t, w in self.timeline if set(w) - allowed]

    def describe(self):
        tl = ", ".join(f"+{t - self.t0:.3f}s {sorted(w)}" for t, w in self.timeline[:20])
        bad = ", ".join(f"+{t - self.t0:.3f}s {w}" for t, w in self.worst[:10])
        return (f"{self.samples} samples every {self.period * 1000:.0f} ms; max writable at once "
                f"{self.max_writable}; answers per server {self.answered}; writable timeline: {tl}"
                + (f"; samples with two writable: {bad}" if bad else ""))
