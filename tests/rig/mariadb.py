"""Real mariadbd servers for tests, benchmarks and the quickstart (DESIGN.md §10).

    with MariaDBRig(n=3, base_port=24100) as db:      # server i listens on base_port+i-1
        db.sql(1, "CREATE DATABASE t")                # root over the unix socket -> rows
        db.sync(2)                                    # replica 2 has applied the primary's GTIDs
        db.stop(3); db.start(3); db.kill9(2)

Set-up: `mariadb-install-db --no-defaults` runs once into a template datadir under the
rig's directory; each server gets a copy. Every server gets the same three accounts
(created with sql_log_bin=0, so binlogs start empty and GTID positions agree):
  failoverd@127.0.0.1  ALL PRIVILEGES WITH GRANT OPTION   (the controller's account)
  repl@127.0.0.1       REPLICATION SLAVE
  app@127.0.0.1        DML/DDL, no SUPER (MariaDB has no super_read_only, so clients
                       that must be stopped by read_only=1 need a non-SUPER account)
root@localhost has no password and is used over the unix socket only. Servers 2..N
replicate from server 1 with MASTER_USE_GTID=slave_pos, MASTER_HEARTBEAT_PERIOD=1,
MASTER_CONNECT_RETRY=1 and run with read_only=1.

Command line (used by deploy/quickstart.sh; servers keep running after it exits):
    python3 -m rig.mariadb start --dir DIR --servers 3 --base-port 33061
    python3 -m rig.mariadb stop --dir DIR
    python3 -m rig.mariadb sql --dir DIR INDEX QUERY
Set FO_KEEP_RIG=1 to keep the rig's directory after a test (for post-mortems)."""

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

if __package__ in (None, ""):  # run as a file: make `rig` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from rig.util import (Proc, RigError, MissingPrerequisite, TestFailure, NotYet, register_cleanup,  # noqa: E402
                      unregister_cleanup, require_ports_free, stop_all, stop_foreign_pid,
                      tail, wait_for, pid_alive)

HOST = "127.0.0.1"
STATE_FILE = "rig.json"
SOCKET_MAX = 107  # sun_path is 108 bytes including the NUL


def _find(prog, extra_dirs=("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin")):
    p = shutil.which(prog)
    if p:
        return p
    for d in extra_dirs:
        c = os.path.join(d, prog)
        if os.access(c, os.X_OK):
            return c
    # A test without mariadbd is skipped (exit 77), never passed: rig.util.
    raise MissingPrerequisite(f"{prog} not found (install mariadb-server and mariadb-client: "
                              f"deploy/install-deps.sh)")


def _unescape_batch(v):
    """Undo the mariadb client's --batch escaping of one field (NULL -> None)."""
    if v == "NULL":
        return None
    if "\\" not in v:
        return v
    out, i = [], 0
    while i < len(v):
        c = v[i]
        if c == "\\" and i + 1 < len(v):
            n = v[i + 1]
            out.append({"n": "\n", "t": "\t", "0": "\0", "\\": "\\"}.get(n, n))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def sql_quote(s):
    """A single-quoted SQL string literal."""
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


class _Exited(Exception):
    """A server process ended while the rig waited for it to start."""


class Server:
    def __init__(self, rig, index, port, host=HOST, netns=None):
        self.rig = rig
        self.index = index
        self.port = port
        self.host = host      # the address it binds to and reports
        self.netns = netns    # rig.netns.NetnsRig host name, or None (initial namespace)
        self.dir = os.path.join(rig.base_dir, f"m{index}")
        self.datadir = os.path.join(self.dir, "data")
        self.socket = os.path.join(self.dir, "mysqld.sock")
        self.errlog = os.path.join(self.dir, "error.log")
        self.outlog = os.path.join(self.dir, "stdout.log")
        self.pidfile = os.path.join(self.dir, "mysqld.pid")
        self.read_only = False  # passed as --read-only on every start
        self.extra_args = []    # added to the command line of every (re)start
        self.proc = None

    @property
    def address(self):
        return f"{self.host}:{self.port}"

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def argv(self):
        r = self.rig
        a = [r.mariadbd, "--no-defaults", "--user=root",
             f"--datadir={self.datadir}", f"--port={self.port}", f"--socket={self.socket}",
             f"--pid-file={self.pidfile}", f"--log-error={self.errlog}",
             f"--bind-address={'0.0.0.0' if r.bind_any else self.host}", f"--server-id={self.index}",
             f"--report-host={self.host}", f"--report-port={self.port}",
             "--log-bin=mysql-bin", "--relay-log=relay-bin", "--log-slave-updates",
             "--gtid-strict-mode=1", "--binlog-format=ROW",
             "--innodb-buffer-pool-size=16M", "--innodb-log-file-size=8M",
             "--performance-schema=off", "--skip-name-resolve",
             f"--slave-net-timeout={r.slave_net_timeout}",
             "--max-connections=200", f"--tmpdir={os.path.join(self.dir, 'tmp')}",
             # Synchronous I/O: fewer moving parts for kill -9 tests. It did not cure the
             # crash-recovery failure described in docs/testing.md.
             "--innodb-use-native-aio=0"]
        if self.read_only:
            a.append("--read-only=1")
        a += list(r.extra_args) + list(self.extra_args)
        if self.netns is not None:
            a = r.net.wrap(self.netns, a)
        return a


class MariaDBRig:
    """N mariadbd servers on HOST:base_port .. base_port+n-1; server 1 is the primary."""

    def __init__(self, n=3, base_port=24100, base_dir=None, replicate=True,
                 slave_net_timeout=4, detach=False, keep=None, extra_args=(),
                 start_timeout=60.0, net=None, hosts=None, account_host=None, same_port=False,
                 bind_any=False, loopback_hosts=False):
        """net/hosts: run server i inside namespace host hosts[i] of the NetnsRig `net`
        (rig.netns), bound to that host's address; accounts are then created for
        account_host (default: the rig's subnet, e.g. '10.231.0.%'), otherwise for
        127.0.0.1. Without net, everything is on 127.0.0.1 as before.
        same_port (net only): every server listens on base_port, as behind a VIP;
        bind_any (net only): bind 0.0.0.0 inside the namespace, so that a VIP added to
        the host's interface reaches the server.
        loopback_hosts (without net): server i binds and reports 127.0.0.i instead of
        127.0.0.1, so that a failover-agent per server can listen on 127.0.0.i at one
        port (the quickstart). Connections between them still come from 127.0.0.1 (the
        kernel's source address for 127/8), so the accounts stay @127.0.0.1."""
        if n < 1:
            raise RigError("need at least one server")
        self.n = n
        self.base_port = base_port
        self.replicate = replicate
        self.slave_net_timeout = slave_net_timeout
        self.detach = detach
        self.extra_args = list(extra_args)
        self.start_timeout = start_timeout
        self.keep = keep if keep is not None else bool(os.environ.get("FO_KEEP_RIG"))
        self.mariadbd = _find("mariadbd")
        self.install_db = _find("mariadb-install-db")
        self.client = _find("mariadb")
        self.owns_dir = base_dir is None
        self.base_dir = os.path.abspath(base_dir) if base_dir else tempfile.mkdtemp(prefix="fo-mdb-")
        self.template = os.path.join(self.base_dir, "template")
        self.primary = 1
        self.passwords = {u: "pw-" + u + "-" + secrets.token_hex(8) for u in ("failoverd", "repl", "app")}
        self.password_file = os.path.join(self.base_dir, "failoverd.password")
        self.repl_password_file = os.path.join(self.base_dir, "repl.password")
        self.net = net
        if loopback_hosts and net is not None:
            raise RigError("loopback_hosts is for servers outside namespaces (no net=)")
        if (same_port or bind_any) and net is None:
            raise RigError("same_port and bind_any need net= (servers in their own namespaces)")
        self.bind_any = bind_any
        if net is not None:
            if not hosts or sorted(hosts) != list(range(1, n + 1)):
                raise RigError("with net=, hosts must map every server index 1..n to a namespace host")
            self.servers = {i: Server(self, i, base_port if same_port else base_port + i - 1,
                                      host=net.addr(hosts[i]), netns=hosts[i])
                            for i in range(1, n + 1)}
            self.account_host = account_host or (net.subnet + ".%")
        else:
            self.servers = {i: Server(self, i, base_port + i - 1, host=f"127.0.0.{i}" if loopback_hosts else HOST)
                            for i in range(1, n + 1)}
            self.account_host = account_host or HOST
        self._torn_down = False
        for s in self.servers.values():
            if len(s.socket) > SOCKET_MAX:
                raise RigError(f"socket path too long ({len(s.socket)} > {SOCKET_MAX}): {s.socket}")

    # ------------------------------------------------------------ lifecycle

    def __enter__(self):
        try:
            self.setup()
        except BaseException:
            self.dump_logs()
            self.teardown()
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.dump_logs()
        self.teardown()
        return False

    def setup(self):
        """Creates, starts and wires every server; returns self."""
        require_ports_free([s.port for s in self.servers.values() if s.netns is None], "mariadb rig")
        os.makedirs(self.base_dir, exist_ok=True)
        if not self.detach:
            register_cleanup(self.teardown)
        self._install_template()
        for s in self.servers.values():
            os.makedirs(s.dir, exist_ok=True)
            shutil.copytree(self.template, s.datadir, symlinks=True)
            s.read_only = self.replicate and s.index != self.primary
        for i in self.servers:
            self._spawn(i)
        for i in self.servers:
            self.wait_ready(i)
        for i in self.servers:
            self._create_users(i)
        for path, user in ((self.password_file, "failoverd"), (self.repl_password_file, "repl")):
            with open(path, "w") as f:
                os.fchmod(f.fileno(), 0o600)
                f.write(self.passwords[user] + "\n")
        if self.replicate:
            for i in self.servers:
                if i != self.primary:
                    self.change_master(i, self.primary)
            for i in self.servers:
                if i != self.primary:
                    self.wait_replicating(i)
        return self

    def _install_template(self):
        if os.path.isdir(os.path.join(self.template, "mysql")):
            return
        # A private tmpdir: with the shared /tmp, mariadb-install-db was seen failing with
        # "Error on delete of '/tmp/#sql-temptable-...MAI'" while other servers ran. A
        # failed install is retried once on an empty datadir (as tests/unit/lib/testdb.c).
        tmp = os.path.join(self.base_dir, "tmp")
        os.makedirs(tmp, exist_ok=True)
        log = os.path.join(self.base_dir, "install-db.log")
        for attempt in (1, 2):
            with open(log, "wb") as f:
                rc = subprocess.run(
                    [self.install_db, "--no-defaults", f"--datadir={self.template}", "--user=root",
                     "--auth-root-authentication-method=normal", "--skip-test-db", f"--tmpdir={tmp}",
                     "--innodb-log-file-size=8M", "--innodb-buffer-pool-size=16M"],
                    stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT, timeout=120).returncode
            if rc == 0:
                return
            if attempt == 1:
                print(f"rig.mariadb: mariadb-install-db failed (exit {rc}), retrying once:\n{tail(log, 8)}",
                      file=sys.stderr, flush=True)
                shutil.rmtree(self.template, ignore_errors=True)
        raise RigError(f"mariadb-install-db failed (exit {rc}) twice; {log}:\n{tail(log)}")

    def _spawn(self, i):
        s = self.servers[i]
        if s.proc is not None and s.proc.alive():
            raise RigError(f"mariadb {i} already running (pid {s.pid})")
        # A stale socket or pid file left by kill -9 is harmless to mariadbd, but
        # remove the socket so wait_ready cannot talk to a previous incarnation.
        for p in (s.socket, s.socket + ".lock"):
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass
        os.makedirs(os.path.join(s.dir, "tmp"), exist_ok=True)
        s.proc = Proc(f"mariadb{i}", s.argv(), s.outlog, detach=self.detach).start()

    def wait_ready(self, i, timeout=None):
        s = self.servers[i]
        timeout = timeout or self.start_timeout

        def ready():
            if not s.proc.alive():
                # Not transient: no use waiting out the timeout for a dead process.
                raise _Exited(f"mariadb {i} (port {s.port}) {s.proc.describe_exit()} while starting; "
                              f"{s.errlog}:\n{tail(s.errlog, 25)}")
            r = self._client(i, "SELECT 1", check=False)
            if r.returncode != 0:
                raise NotYet(f"mariadb {i}: {r.stderr.strip() or 'not accepting connections'}")
            return True
        try:
            wait_for(ready, timeout, f"mariadb {i} (port {s.port}) to accept connections", interval=0.03)
        except _Exited as e:
            raise RigError(str(e)) from None
        except TestFailure as e:
            raise RigError(f"{e}; {s.errlog}:\n{tail(s.errlog, 25)}") from None

    def start(self, i):
        """Starts server i again on its existing datadir and waits until it accepts
        connections. A replica resumes replication by itself (its master.info is kept)."""
        if self.servers[i].netns is None:
            require_ports_free([self.servers[i].port], f"mariadb {i}")
        self._spawn(i)
        try:
            self.wait_ready(i)
        except RigError as e:
            # MariaDB 10.11.19 after a kill -9 (docs/testing.md): crash recovery stops
            # with "InnoDB: ... Data structure corruption", and the same datadir fails
            # the same way on every later start: named here, not retried.
            if "Data structure corruption" in tail(self.servers[i].errlog, 40):
                raise RigError(f"mariadb {i}: InnoDB crash recovery failed (MariaDB bug, docs/testing.md): {e}") \
                    from None
            raise

    def stop(self, i, timeout=60.0):
        """Clean shutdown (SIGTERM) of server i; waits for it to exit."""
        s = self.servers[i]
        if s.proc is None or not s.proc.alive():
            raise RigError(f"mariadb {i} is not running")
        rc = s.proc.stop(timeout)
        if rc not in (0, None):
            print(f"rig: mariadb {i} exited with status {rc} on SIGTERM", file=sys.stderr)
        return rc

    def kill9(self, i):
        s = self.servers[i]
        if s.proc is None or not s.proc.alive():
            raise RigError(f"mariadb {i} is not running")
        return s.proc.kill9()

    def pause(self, i):
        """SIGSTOP: the server hangs (connections open, no answers)."""
        self.servers[i].proc.signal(signal.SIGSTOP)

    def resume(self, i):
        self.servers[i].proc.signal(signal.SIGCONT)

    def running(self, i):
        s = self.servers[i]
        return s.proc is not None and s.proc.alive()

    def teardown(self):
        """Stops every server by pid and removes the rig's directory. Idempotent."""
        if self._torn_down:
            return
        self._torn_down = True
        unregister_cleanup(self.teardown)
        for s in self.servers.values():  # a SIGSTOPped server would never see SIGTERM
            if s.proc is not None and s.proc.alive():
                try:
                    s.proc.signal(signal.SIGCONT)
                except ProcessLookupError:
                    pass
        stop_all([s.proc for s in self.servers.values()], timeout=60.0)
        if self.keep:
            print(f"rig: keeping {self.base_dir} (FO_KEEP_RIG)", file=sys.stderr)
        elif self.owns_dir:
            shutil.rmtree(self.base_dir, ignore_errors=True)
        else:
            for s in self.servers.values():
                shutil.rmtree(s.dir, ignore_errors=True)
            shutil.rmtree(self.template, ignore_errors=True)

    def dump_logs(self, n=30):
        for s in self.servers.values():
            state = "running" if s.proc and s.proc.alive() else (s.proc.describe_exit() if s.proc else "never started")
            print(f"----- mariadb {s.index} (port {s.port}, {state}): tail of {s.errlog}", flush=True)
            print(tail(s.errlog, n), flush=True)

    # ------------------------------------------------------------ SQL

    def _client(self, i, query, user=None, password=None, check=True, timeout=30, database=None,
                names=True):
        s = self.servers[i]
        env = dict(os.environ)
        env.pop("MYSQL_PWD", None)
        if user is None:
            argv = [self.client, "--no-defaults", "--protocol=socket", f"--socket={s.socket}", "-uroot"]
        else:
            # Over TCP, as a real client would; the password goes through the
            # environment so it never shows up in `ps`.
            argv = [self.client, "--no-defaults", "--protocol=tcp", f"--host={s.host}",
                    f"--port={s.port}", f"-u{user}"]
            if password is not None:
                env["MYSQL_PWD"] = password
        argv += ["--batch", "--connect-timeout=5"]
        if not names:
            argv.append("--skip-column-names")
        if database:
            argv.append(f"--database={database}")
        argv += ["-e", query]
        if user is not None and s.netns is not None:
            argv = self.net.wrap(s.netns, argv)
        try:
            r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               env=env, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RigError(f"mariadb {i} (port {s.port}): query timed out after {timeout}s: {query!r}")
        if check and r.returncode != 0:
            raise RigError(f"mariadb {i} (port {s.port}): {query!r} failed: {r.stderr.strip()}")
        return r

    @staticmethod
    def _rows(out):
        lines = out.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return [tuple(_unescape_batch(v) for v in ln.split("\t")) for ln in lines]

    def sql(self, i, query, user=None, password=None, database=None, timeout=30):
        """Runs query (one or more statements) on server i, as root over the socket
        unless user is given, and returns every result row as a tuple of strings
        (None for NULL)."""
        r = self._client(i, query, user=user, password=password, database=database,
                         timeout=timeout, names=False)
        return self._rows(r.stdout)

    def sql_dicts(self, i, query, user=None, password=None, database=None):
        """Like sql() but each row is a dict keyed by column name."""
        r = self._client(i, query, user=user, password=password, database=database)
        rows = self._rows(r.stdout)
        if not rows:
            return []
        header = rows[0]
        return [dict(zip(header, row)) for row in rows[1:]]

    def scalar(self, i, query):
        rows = self.sql(i, query)
        if len(rows) != 1 or len(rows[0]) != 1:
            raise RigError(f"mariadb {i}: {query!r} returned {rows!r}, expected one value")
        return rows[0][0]

    def app_sql(self, i, query, database=None):
        """Runs query on server i as the non-SUPER 'app' user over TCP."""
        return self.sql(i, query, user="app", password=self.passwords["app"], database=database)

    def _create_users(self, i):
        p = self.passwords
        h = self.account_host
        self.sql(i, " ".join([
            "SET SESSION sql_log_bin=0;",
            f"CREATE USER 'failoverd'@'{h}' IDENTIFIED BY {sql_quote(p['failoverd'])};",
            f"GRANT ALL PRIVILEGES ON *.* TO 'failoverd'@'{h}' WITH GRANT OPTION;",
            f"CREATE USER 'repl'@'{h}' IDENTIFIED BY {sql_quote(p['repl'])};",
            f"GRANT REPLICATION SLAVE ON *.* TO 'repl'@'{h}';",
            f"CREATE USER 'app'@'{h}' IDENTIFIED BY {sql_quote(p['app'])};",
            f"GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER ON *.* TO 'app'@'{h}';",
        ]))

    # ------------------------------------------------------------ replication

    def change_master(self, i, source, demote=False):
        """Points server i at server `source` with GTID replication and starts it."""
        src = self.servers[source]
        opts = [f"MASTER_HOST='{src.host}'", f"MASTER_PORT={src.port}", "MASTER_USER='repl'",
                f"MASTER_PASSWORD={sql_quote(self.passwords['repl'])}",
                "MASTER_USE_GTID=slave_pos", "MASTER_HEARTBEAT_PERIOD=1", "MASTER_CONNECT_RETRY=1"]
        if demote:
            opts.append("MASTER_DEMOTE_TO_SLAVE=1")
        self.sql(i, "STOP SLAVE; SET GLOBAL read_only=1; CHANGE MASTER TO " + ", ".join(opts) + "; START SLAVE;")
        self.servers[i].read_only = True

    def slave_status(self, i):
        """SHOW SLAVE STATUS as a dict, or None if server i is not a replica."""
        rows = self.sql_dicts(i, "SHOW SLAVE STATUS")
        return rows[0] if rows else None

    def wait_replicating(self, i, timeout=30.0):
        def ok():
            st = self.slave_status(i)
            if st is None:
                raise NotYet(f"mariadb {i}: SHOW SLAVE STATUS is empty (not a replica)")
            if st.get("Slave_IO_Running") == "Yes" and st.get("Slave_SQL_Running") == "Yes":
                return True
            raise NotYet(f"mariadb {i}: IO={st.get('Slave_IO_Running')} SQL={st.get('Slave_SQL_Running')} "
                         f"io_error={st.get('Last_IO_Error')!r} sql_error={st.get('Last_SQL_Error')!r}")
        wait_for(ok, timeout, f"mariadb {i} to replicate (IO and SQL threads running)")

    def gtid(self, i):
        r = self.sql(i, "SELECT @@gtid_current_pos, @@gtid_binlog_pos, @@gtid_slave_pos")[0]
        return {"current": r[0] or "", "binlog": r[1] or "", "slave": r[2] or ""}

    def sync(self, i, source=None, timeout=30):
        """Waits until replica i has applied everything in source's binlog."""
        source = source or self.primary
        pos = self.scalar(source, "SELECT @@gtid_binlog_pos") or ""
        if not pos:
            return
        r = self.scalar(i, f"SELECT MASTER_GTID_WAIT({sql_quote(pos)}, {int(timeout)})")
        if r != "0":
            st = self.slave_status(i) or {}
            raise TestFailure(f"mariadb {i} did not reach {pos} within {timeout}s "
                              f"(gtid_slave_pos={self.gtid(i)['slave']!r}, IO={st.get('Slave_IO_Running')}, "
                              f"SQL={st.get('Slave_SQL_Running')}, io_error={st.get('Last_IO_Error')!r}, "
                              f"sql_error={st.get('Last_SQL_Error')!r})")

    def sync_all(self, timeout=30):
        for i in self.servers:
            if i != self.primary and self.running(i):
                self.sync(i, timeout=timeout)

    # ------------------------------------------------------------ state file (CLI)

    def state(self):
        return {
            "base_dir": self.base_dir,
            "primary": self.primary,
            "password_file": self.password_file,
            "servers": [{"index": s.index, "port": s.port, "address": s.address, "pid": s.pid,
                         "socket": s.socket, "datadir": s.datadir, "errlog": s.errlog}
                        for s in self.servers.values()],
        }

    def write_state(self):
        path = os.path.join(self.base_dir, STATE_FILE)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.state(), f, indent=2)
        os.replace(tmp, path)
        return path


# ---------------------------------------------------------------- command line

def _load_state(d):
    path = os.path.join(d, STATE_FILE)
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def _cli_start(a):
    st = _load_state(a.dir)
    if st and any(pid_alive(s["pid"]) for s in st["servers"] if s.get("pid")):
        print(f"mariadb rig in {a.dir} is already running", file=sys.stderr)
        return 1
    if os.path.exists(os.path.join(a.dir, "m1")):
        print(f"{a.dir} holds a previous (stopped) rig; remove it first", file=sys.stderr)
        return 1
    rig = MariaDBRig(n=a.servers, base_port=a.base_port, base_dir=a.dir, detach=True, keep=True,
                     slave_net_timeout=a.slave_net_timeout, loopback_hosts=a.loopback_hosts)
    try:
        rig.setup()
        rig.write_state()
    except BaseException:
        rig.dump_logs()
        stop_all([s.proc for s in rig.servers.values()])
        raise
    for s in rig.servers.values():
        role = "primary" if s.index == rig.primary else f"replica of {rig.servers[rig.primary].address}"
        print(f"mariadb{s.index} {s.pid} {s.address} {role}")
    return 0


def _cli_stop(a):
    st = _load_state(a.dir)
    if not st:
        print(f"no {STATE_FILE} in {a.dir}: nothing to stop", file=sys.stderr)
        return 0
    for s in st["servers"]:
        if s.get("pid"):
            what = stop_foreign_pid(s["pid"], s["datadir"])
            print(f"mariadb{s['index']} (pid {s['pid']}): {what}")
    return 0


def _cli_sql(a):
    st = _load_state(a.dir)
    if not st:
        print(f"no {STATE_FILE} in {a.dir}", file=sys.stderr)
        return 1
    s = next((x for x in st["servers"] if x["index"] == a.index), None)
    if s is None:
        print(f"no server {a.index}", file=sys.stderr)
        return 2
    client = _find("mariadb")
    return subprocess.run([client, "--no-defaults", "--protocol=socket", f"--socket={s['socket']}",
                           "-uroot", "--table", "-e", a.query]).returncode


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m rig.mariadb", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("start", help="start N servers (server 1 primary, others GTID replicas) and exit")
    p.add_argument("--dir", required=True)
    p.add_argument("--servers", type=int, default=3)
    p.add_argument("--base-port", type=int, default=33061)
    p.add_argument("--slave-net-timeout", type=int, default=4)
    p.add_argument("--loopback-hosts", action="store_true",
                   help="server i on 127.0.0.i (one failover-agent per server on one port)")
    p = sub.add_parser("stop", help="stop the servers recorded in DIR/rig.json, by pid")
    p.add_argument("--dir", required=True)
    p = sub.add_parser("sql", help="run a query as root on one server")
    p.add_argument("--dir", required=True)
    p.add_argument("index", type=int)
    p.add_argument("query")
    a = ap.parse_args(argv)
    try:
        return {"start": _cli_start, "stop": _cli_stop, "sql": _cli_sql}[a.cmd](a)
    except (RigError, TestFailure) as e:
        print(f"rig.mariadb: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
