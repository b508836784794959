#!/usr/bin/env python3
"""HAProxy routing without a VIP (issue 15.3): Debian's haproxy, configured from the
documented deploy/haproxy/haproxy.cfg (addresses substituted), sends writes to the
server that failoverd's /check/<cluster>/<host:port> names the writable primary and
reads to the servers /check-replica/... names healthy replicas, asking the three
controllers (each database server is listed once per controller).

  1. A writer thread INSERTs through HAProxy's writer port as the non-SUPER app user
     (so a read-only server refuses with error 1290): every acknowledged write lands
     on server 1; the reader port leads to a read-only replica.
  2. kill -9 of server 1's mariadbd: failoverd fails over; writes through HAProxy
     reach the new primary.
  3. Throughout, no write is ever routed to a read-only server: the writer never saw
     error 1290 (ER_OPTION_PREVENTS_STATEMENT), and every acknowledged write is on the
     server that was primary at the time. Control: a backend with plain TCP checks (what
     HAProxy does without failoverd) does route writes to read-only replicas, so the
     sampler can tell.

haproxy runs in the foreground (-db) in a temp dir and is stopped by its pid (never
systemctl). Missing haproxy or python3-pymysql: exit 77.
Ports: mariadb 31600-31602; failoverd admin 31610+, raft 31630+, http 31650+;
haproxy 31690 (writer), 31691 (reader), 31692 (stats), 31693 (control)."""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.failover import FailoverEnv  # noqa: E402
from rig.util import MissingPrerequisite, check, run_test, step, tail, wait_for  # noqa: E402
from rig.writer import Writer, create_table, pymysql, require_pymysql  # noqa: E402

DB_PORT = 31600
CTL_PORT = 31610
WRITER_PORT, READER_PORT, STATS_PORT, CONTROL_PORT = 31690, 31691, 31692, 31693
EXAMPLE = os.path.join(os.environ.get("FO_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..")),
                       "deploy", "haproxy", "haproxy.cfg")
READ_ONLY_ERR = 1290


def render_config(env):
    """The documented example with the rig's servers and controllers in it."""
    with open(EXAMPLE) as f:
        text = f.read()
    for i in (1, 2, 3):
        text = text.replace(f"10.0.0.1{i}:3306", env.addr(i))
    for n in (1, 2, 3):
        host, port = env.c.nodes[n].http.rsplit(":", 1)
        text = text.replace(f"addr 10.0.0.{n} port 9501", f"addr {host} port {port}")
    text = text.replace("bind :3306", f"bind 127.0.0.1:{WRITER_PORT}")
    text = text.replace("bind :3307", f"bind 127.0.0.1:{READER_PORT}")
    text = text.replace("bind 127.0.0.1:8404", f"bind 127.0.0.1:{STATS_PORT}")
    left = [ln for ln in text.splitlines() if "10.0.0." in ln and not ln.lstrip().startswith("#")]
    check(not left, f"example addresses left unsubstituted: {left}")
    # The control: what plain TCP checks do (no failoverd).
    text += (f"\nlisten control\n    bind 127.0.0.1:{CONTROL_PORT}\n    balance roundrobin\n"
             + "".join(f"    server s{i} {env.addr(i)} check inter 500\n" for i in (1, 2, 3)))
    return text


class HAProxy:
    def __init__(self, tmp, cfg_text):
        self.exe = shutil.which("haproxy") or ("/usr/sbin/haproxy" if os.path.exists("/usr/sbin/haproxy") else None)
        if self.exe is None:
            raise MissingPrerequisite("haproxy is not installed (Debian package haproxy)")
        self.cfg = os.path.join(tmp, "haproxy.cfg")
        self.log = os.path.join(tmp, "haproxy.log")
        with open(self.cfg, "w") as f:
            f.write(cfg_text)
        res = subprocess.run([self.exe, "-c", "-f", self.cfg], capture_output=True, text=True)
        check(res.returncode == 0, f"haproxy -c: {res.stdout}{res.stderr}")
        self.logf = open(self.log, "wb")
        self.proc = subprocess.Popen([self.exe, "-db", "-f", self.cfg], stdout=self.logf, stderr=subprocess.STDOUT,
                                     cwd=tmp)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.logf.close()

    def up_servers(self, backend):
        """Names of the servers of backend that HAProxy has UP (stats CSV)."""
        import urllib.request
        with urllib.request.urlopen(f"http://127.0.0.1:{STATS_PORT}/;csv", timeout=2) as r:
            rows = r.read().decode().splitlines()
        hdr = rows[0].lstrip("# ").split(",")
        px, sv, st = hdr.index("pxname"), hdr.index("svname"), hdr.index("status")
        out = set()
        for ln in rows[1:]:
            f = ln.split(",")
            if len(f) > st and f[px] == backend and f[sv] not in ("FRONTEND", "BACKEND") and f[st].startswith("UP"):
                out.add(f[sv])
        return out


def via(db, port, connect_timeout=1.0, rw_timeout=2.0):
    """(connection, server index) through HAProxy's port; the index is @@server_id."""
    conn = pymysql.connect(host="127.0.0.1", port=port, user="app", password=db.passwords["app"],
                           connect_timeout=connect_timeout, read_timeout=rw_timeout, write_timeout=rw_timeout,
                           autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT @@server_id, @@read_only")
            sid, ro = cur.fetchone()
        return conn, int(sid), int(ro)
    except BaseException:
        conn.close()
        raise


def read_only_errors(w):
    return [e for e in w.errors if f"({READ_ONLY_ERR}," in e[2]]


def main():
    require_pymysql()
    if not (shutil.which("haproxy") or os.path.exists("/usr/sbin/haproxy")):
        raise MissingPrerequisite("haproxy is not installed (Debian package haproxy)")
    tmp = tempfile.mkdtemp(prefix="fo-haproxy-")
    hap = None
    try:
        with FailoverEnv(db_port=DB_PORT, ctl_port=CTL_PORT, n_db=3,
                         failover=dict(step_timeout_ms=5000, relay_wait_ms=5000)) as env:
            db = env.db
            env.wait_healthy(1, [2, 3])
            create_table(db, 1)
            db.sync_all()
            hap = HAProxy(tmp, render_config(env))
            try:
                a1 = env.addr(1)
                wait_for(lambda: {s.split("_", 1)[1] for s in hap.up_servers("demo_primary")} == {a1}, 20,
                         f"HAProxy to mark only {a1} up in the writer backend")
                step(f"HAProxy writer backend: up {sorted(hap.up_servers('demo_primary'))}")
                # Only the leader sees replica lag: its line of each replica is up, the
                # followers' lines go down at their first check.
                leader = env.c.wait_leader(20)

                def readers_settled():
                    up = hap.up_servers("demo_replicas")
                    return up == {f"ctl{leader}_{env.addr(2)}", f"ctl{leader}_{env.addr(3)}"}
                wait_for(readers_settled, 20, f"HAProxy to keep only node {leader}'s replica lines up")
                for _ in range(4):
                    conn, sid, ro = via(db, READER_PORT)
                    conn.close()
                    check(sid in (2, 3) and ro == 1, f"reader port led to server {sid} (read_only={ro})")
                step(f"reader backend up {sorted(hap.up_servers('demo_replicas'))}; reads reach read-only replicas")

                w = Writer(db, lambda: [0], name="haproxy-writer", retry_interval=0.05,
                           connect_fn=lambda _t, ct, rw: via(db, WRITER_PORT, ct, rw)[:2])
                w.start()
                w.wait_acks(100)
                before = w.acked_ids()
                check({x[2] for x in w.acked} == {1}, f"writes before the kill went to {set(x[2] for x in w.acked)}")
                step(f"{len(before)} writes through HAProxy, all on server 1")

                t_kill = time.monotonic()
                db.kill9(1)
                t_dead = time.monotonic()  # server 1 is gone: nothing it acknowledges arrives much later
                f = env.failover(1, timeout=60)
                new = env.index(f.get("new_primary"))
                step(f"kill -9 of server 1: failover to server {new} ({f.get('steps')})")

                def on_new():
                    la = w.last_ack()
                    return la is not None and la[2] == new and la[1] > t_kill
                wait_for(on_new, 30, f"writes through HAProxy to reach server {new} (errors: {w.last_errors()})")
                t_first = min(x[1] for x in w.acked if x[1] > t_kill)
                w.wait_acks(50)
                w.stop()
                step(f"writes through HAProxy reach server {new} {t_first - t_kill:.2f}s after the kill")

                ro = read_only_errors(w)
                check(not ro, f"{len(ro)} writes were routed to a read-only server: {ro[:5]}")
                # An INSERT in flight at the kill may be acknowledged by server 1 just after
                # t_kill; anything else must be on server 1 before, on the new primary after.
                wrong = [x for x in w.acked if x[2] not in (1, new) or (x[2] == 1 and x[1] > t_dead + 0.5)
                         or (x[2] == new and x[1] < t_kill)]
                check(not wrong, f"acknowledged writes on a server that was not the primary: {wrong[:5]}")
                step(f"no write routed to a read-only server ({len(w.acked)} acknowledged, "
                     f"{len(w.errors)} connection errors while server 1 was down)")
                rest = [i for i in (2, 3) if i != new]
                leader = env.c.wait_leader(20)
                wait_for(lambda: hap.up_servers("demo_replicas") == {f"ctl{leader}_{env.addr(i)}" for i in rest}, 20,
                         f"the reader backend to keep only {rest}")
                for _ in range(4):
                    conn, sid, ro_flag = via(db, READER_PORT)
                    conn.close()
                    check(sid not in (1, new) and ro_flag == 1, f"reader port led to server {sid} after the failover")

                # Control: plain TCP checks send writes to read-only servers; the sampler sees it.
                refused = 0
                for k in range(12):
                    try:
                        conn, _, _ = via(db, CONTROL_PORT)
                    except Exception:  # noqa: BLE001 - server 1 is dead: a connect error
                        continue
                    try:
                        with conn.cursor() as cur:
                            cur.execute("INSERT INTO fotest.w (id, server_id) VALUES (%s, @@server_id)",
                                        (10_000_000 + k,))
                    except pymysql.err.MySQLError as e:
                        refused += e.args[0] == READ_ONLY_ERR
                    finally:
                        conn.close()
                check(refused > 0, "control: plain TCP checks never hit a read-only server (sampler cannot tell)")
                step(f"control: plain TCP checks routed {refused}/12 writes to a read-only server")
            except BaseException:
                print("----- haproxy log\n" + tail(hap.log, 40), flush=True)
                raise
            finally:
                hap.stop()
    finally:
        if hap is not None and hap.proc is not None:
            hap.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run_test(main)
