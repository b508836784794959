"""An application writer for failover tests: a thread that INSERTs numbered rows as the
non-SUPER `app` user (so read_only=1 stops it, DESIGN.md §10) and records which
INSERTs the server acknowledged.

    w = Writer(db, lambda: [db.primary])           # where to (re)connect, in order
    w.start(); ...; w.stop()
    w.acked_ids()           # ids whose INSERT returned OK (autocommit: committed)
    w.uncertain             # ids whose outcome is unknown (error after sending)
    w.max_gap(t0, t1)       # longest time without an acknowledged write in [t0, t1]

Every INSERT uses a new id; an id whose INSERT failed is never reused, so an
uncertain write cannot be mistaken for a later acknowledged one. Times are
time.monotonic(). Rows go to `fotest.w (id BIGINT PRIMARY KEY, server_id INT)`,
created by create_table().

Uses PyMySQL (Debian package python3-pymysql, installed by deploy/install-deps.sh).
When the running interpreter is not Debian's (e.g. a pyenv python3 on PATH), the
Debian package directory is added to sys.path: PyMySQL is pure Python."""

import os
import sys
import threading
import time

from rig.util import RigError

try:
    import pymysql
except ImportError:  # not Debian's python3: try the Debian package's directory
    for d in ("/usr/lib/python3/dist-packages",):
        if os.path.isdir(os.path.join(d, "pymysql")) and d not in sys.path:
            sys.path.append(d)
    try:
        import pymysql
    except ImportError:
        pymysql = None

TABLE = "fotest.w"

# Server errors that mean the INSERT was refused before anything was written:
# read_only (1290), no privilege (1142), no table (1146), duplicate key (1062).
REFUSALS = (1290, 1142, 1146, 1062)


def require_pymysql():
    if pymysql is None:
        raise RigError("python3-pymysql is not installed (deploy/install-deps.sh installs it)")


def connect(db, i, connect_timeout=1.0, rw_timeout=3.0, user="app"):
    """A PyMySQL connection to server i of MariaDBRig db as `user` over TCP
    (autocommit on). Raises pymysql errors."""
    require_pymysql()
    s = db.servers[i]
    return pymysql.connect(host=s.host, port=s.port, user=user, password=db.passwords[user],
                           connect_timeout=connect_timeout, read_timeout=rw_timeout,
                           write_timeout=rw_timeout, autocommit=True)


def connect_vip(db, ns, vip, port, connect_timeout=1.0, rw_timeout=3.0, user="app"):
    """A PyMySQL connection to vip:port made from inside network namespace ns (the
    socket is created there, rig.agents.in_netns), as `user`, autocommit on. Returns
    (connection, server index), the index being @@server_id (the rig's server ids are
    their indices), i.e. which server the VIP led to."""
    import socket

    from rig.agents import in_netns
    require_pymysql()
    sock = in_netns(ns, lambda: socket.create_connection((vip, port), timeout=connect_timeout))
    # The handshake (the server's greeting, authentication, the first query) is bounded
    # by the connect timeout, as libmysqlclient and Connector/C bound it: PyMySQL would
    # wait read_timeout for a greeting that never comes from a host the VIP just left
    # (its TCP handshake completed as the address moved). Then the real timeouts.
    conn = pymysql.Connection(host=vip, port=port, user=user, password=db.passwords[user], defer_connect=True,
                              connect_timeout=connect_timeout, read_timeout=connect_timeout,
                              write_timeout=connect_timeout, autocommit=True)
    try:
        conn.connect(sock)
        with conn.cursor() as cur:
            cur.execute("SELECT @@server_id")
            idx = int(cur.fetchone()[0])
        conn._read_timeout = conn._write_timeout = rw_timeout
    except BaseException:
        try:
            conn.close()
        except Exception:  # noqa: BLE001
            sock.close()
        raise
    return conn, idx


def try_insert_conn(conn_fn, row_id):
    """One INSERT of row_id on the connection conn_fn() returns as (conn, index).
    Returns (None, index) when acknowledged, else (error text, index or None)."""
    conn, idx = None, None
    try:
        conn, idx = conn_fn()
        with conn.cursor() as cur:
            cur.execute(f"INSERT INTO {TABLE} (id, server_id) VALUES (%s, @@server_id)", (row_id,))
        return None, idx
    except Exception as e:  # noqa: BLE001 - any failure means "not written"
        return f"{type(e).__name__}: {e}", idx
    finally:
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass


def create_table(db, i):
    """Creates fotest.w on server i (the primary), as root; replicas get it by replication."""
    db.sql(i, "CREATE DATABASE IF NOT EXISTS fotest; "
              f"CREATE TABLE IF NOT EXISTS {TABLE} (id BIGINT PRIMARY KEY, server_id INT NOT NULL, "
              "ts TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))")


def ids_on(db, i):
    """Set of ids in fotest.w on server i (root over the unix socket)."""
    return {int(r[0]) for r in db.sql(i, f"SELECT id FROM {TABLE}")}


def try_insert(db, i, row_id, connect_timeout=0.5, rw_timeout=2.0):
    """One INSERT of row_id on server i on a fresh connection. Returns None on success
    (acknowledged), else the error text. Used to find the first writable server."""
    err, _ = try_insert_conn(lambda: (connect(db, i, connect_timeout=connect_timeout, rw_timeout=rw_timeout), i),
                             row_id)
    return err


class Writer(threading.Thread):
    """targets() returns the server indices to try, in order, when (re)connecting (for
    example the primary shown by `failoverctl topology`, or every server). After an
    error the writer reconnects (trying each target once per round, pausing
    `retry_interval` between rounds). `interval` is the pause between INSERTs."""

    def __init__(self, db, targets, interval=0.0, retry_interval=0.01, start_id=1, name="writer",
                 connect_timeout=0.5, rw_timeout=2.0, connect_fn=None):
        """connect_fn(target, connect_timeout, rw_timeout) -> (connection, server index)
        replaces the direct connection to server `target` (e.g. connect_vip through a
        VIP, where the index says which server answered)."""
        super().__init__(name=name, daemon=True)
        require_pymysql()
        self.db = db
        self.targets = targets
        self.interval = interval
        self.retry_interval = retry_interval
        self.next_id = start_id
        self.connect_fn = connect_fn
        self.connect_timeout = connect_timeout
        self.rw_timeout = rw_timeout
        self.acked = []        # (id, monotonic time of the OK, server index)
        self.uncertain = []    # ids whose INSERT failed after it may have been sent
        self.errors = []       # (monotonic time, server index or None, text)
        self.connects = []     # (monotonic time, server index)
        self._stop_evt = threading.Event()
        self._lock = threading.Lock()
        self.crashed = None
        self._last_failed = None

    # ------------------------------------------------------------ thread

    def run(self):
        try:
            self._loop()
        except BaseException as e:  # noqa: BLE001 - reported by stop()
            self.crashed = f"{type(e).__name__}: {e}"

    def _connect(self):
        try:
            order = list(self.targets() or [])
        except Exception as e:  # noqa: BLE001 - e.g. failoverctl not answering
            self._error(None, f"targets(): {type(e).__name__}: {e}")
            return None, None
        # The server that just failed is tried last, so a read-only server first in
        # the list cannot keep the writer from reaching a writable one.
        if self._last_failed in order and len(order) > 1:
            order.remove(self._last_failed)
            order.append(self._last_failed)
        for i in order:
            if self._stop_evt.is_set():
                return None, None
            try:
                if self.connect_fn is not None:
                    conn, idx = self.connect_fn(i, self.connect_timeout, self.rw_timeout)
                else:
                    conn, idx = connect(self.db, i, connect_timeout=self.connect_timeout,
                                        rw_timeout=self.rw_timeout), i
                with self._lock:
                    self.connects.append((time.monotonic(), idx))
                return conn, idx
            except Exception as e:  # noqa: BLE001
                self._error(i, f"connect: {type(e).__name__}: {e}")
        return None, None

    def _error(self, i, text):
        with self._lock:
            self.errors.append((time.monotonic(), i, text))
            if len(self.errors) > 20000:
                del self.errors[:10000]

    def _loop(self):
        conn, cur_i = None, None
        while not self._stop_evt.is_set():
            if conn is None:
                conn, cur_i = self._connect()
                if conn is None:
                    self._stop_evt.wait(self.retry_interval)
                    continue
            row_id = self.next_id
            self.next_id += 1
            try:
                with conn.cursor() as cur:
                    cur.execute(f"INSERT INTO {TABLE} (id, server_id) VALUES (%s, @@server_id)", (row_id,))
                with self._lock:
                    self.acked.append((row_id, time.monotonic(), cur_i))
            except Exception as e:  # noqa: BLE001
                code = e.args[0] if getattr(e, "args", None) and isinstance(e.args[0], int) else None
                # Only a clear refusal means "not written"; a lost connection, a
                # timeout or a killed statement may have committed.
                if code not in REFUSALS:
                    with self._lock:
                        self.uncertain.append(row_id)
                self._error(cur_i, f"id {row_id}: {type(e).__name__}: {e}")
                try:
                    conn.close()
                except Exception:  # noqa: BLE001
                    pass
                self._last_failed = cur_i
                conn, cur_i = None, None
                continue
            if self.interval:
                self._stop_evt.wait(self.interval)
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass

    def stop(self, timeout=30.0):
        self._stop_evt.set()
        self.join(timeout)
        if self.is_alive():
            raise RigError(f"{self.name} did not stop within {timeout:g}s")
        if self.crashed:
            raise RigError(f"{self.name} crashed: {self.crashed}")

    # ------------------------------------------------------------ results

    def acked_ids(self, before=None):
        with self._lock:
            return {i for i, t, _s in self.acked if before is None or t <= before}

    def acked_count(self):
        with self._lock:
            return len(self.acked)

    def last_ack(self):
        with self._lock:
            return self.acked[-1] if self.acked else None

    def wait_acks(self, n, timeout=30.0):
        """Waits until at least n more writes are acknowledged than now."""
        start = self.acked_count()
        deadline = time.monotonic() + timeout
        while self.acked_count() < start + n:
            if time.monotonic() > deadline:
                raise RigError(f"{self.name}: only {self.acked_count() - start} of {n} writes acknowledged "
                               f"in {timeout:g}s; last errors: {self.last_errors()}")
            if not self.is_alive():
                raise RigError(f"{self.name} stopped: {self.crashed}")
            time.sleep(0.01)

    def last_errors(self, n=5):
        with self._lock:
            return [e[2] for e in self.errors[-n:]]

    def max_gap(self, t0=None, t1=None):
        """(seconds, start, end): the longest interval inside [t0, t1] without an
        acknowledged write (t0/t1 themselves count as boundaries)."""
        with self._lock:
            times = [t for _i, t, _s in self.acked]
        if t0 is not None:
            times = [t for t in times if t >= t0]
            times.insert(0, t0)
        if t1 is not None:
            times = [t for t in times if t <= t1]
            times.append(t1)
        best = (0.0, None, None)
        for a, b in zip(times, times[1:]):
            if b - a > best[0]:
                best = (b - a, a, b)
        return best

    def servers_written(self):
        with self._lock:
            return sorted({s for _i, _t, s in self.acked})
