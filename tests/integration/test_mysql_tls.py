#!/usr/bin/env python3
"""Password files only from secrets_dir (issue 9, common/config.h "Password files").

A holder of a client certificate must not be able to make failoverd read an arbitrary
file (/etc/hostname was read and sent to a server of the attacker's choosing) by
naming it as a cluster's password file. This test names, as a cluster's
password_file / repl_password_file:
  - a file outside secrets_dir,
  - a symbolic link inside secrets_dir that leads outside,
  - a path with '..' that leads outside,
at config load (failoverd --check-config and a real start) and with
`failoverctl cluster add` against a running controller. Each must be refused with a
clear error, the file must never be opened (inotify IN_OPEN on it, which realpath(3)
does not trigger), and the MySQL "server" named in the config (a listening socket)
must never see a connection. (failoverctl refuses a '..' path itself; the other
cases reach the leader's admin handler.) Controls: a file inside secrets_dir is accepted both
ways, so the refusals are not an accident of the setup.

The TLS and authentication-plugin cases against hostile fakes and a real mariadbd
with certificates are in tests/unit/test_myconn_auth.c.

Ports 29300-29360 (controller rig), plus kernel-chosen ports for the fake listener.
"""
import ctypes
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.controllers import Cluster, ControllerRig, binary, require_binaries  # noqa: E402

PORT = 29300
IN_ACCESS, IN_OPEN = 0x1, 0x20
IN_NONBLOCK = 0o4000
FAILED = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILED.append(what)


class OpenWatch:
    """inotify IN_OPEN|IN_ACCESS on one file: did anybody open or read it?"""

    def __init__(self, path):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(IN_NONBLOCK)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if self.libc.inotify_add_watch(self.fd, os.fsencode(path), IN_OPEN | IN_ACCESS) < 0:
            raise OSError(ctypes.get_errno(), f"inotify_add_watch {path}")

    def events(self):
        n = 0
        while True:
            try:
                buf = os.read(self.fd, 4096)
            except BlockingIOError:
                return n
            off = 0
            while off + 16 <= len(buf):
                _, mask, _, ln = struct.unpack_from("iIII", buf, off)
                n += 1 if mask & (IN_OPEN | IN_ACCESS) else 0
                off += 16 + ln

    def close(self):
        os.close(self.fd)


class Listener:
    """The MySQL server an attacker would name: counts connections, answers nothing."""

    def __init__(self):
        self.s = socket.socket()
        self.s.bind(("127.0.0.1", 0))
        self.s.listen(8)
        self.s.setblocking(False)
        self.port = self.s.getsockname()[1]

    def connections(self):
        n = 0
        while True:
            try:
                c, _ = self.s.accept()
            except BlockingIOError:
                return n
            c.close()
            n += 1

    def close(self):
        self.s.close()


def setup_files(root):
    sec = os.path.join(root, "secrets")
    out = os.path.join(root, "outside")
    os.makedirs(sec, mode=0o700)
    os.makedirs(out, mode=0o700)
    good = os.path.join(sec, "good.password")
    stolen = os.path.join(out, "hostname-like")
    for p, text in ((good, "good-password\n"), (stolen, "NOT-A-PASSWORD-stolen-file\n")):
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, 0o600)
    link = os.path.join(sec, "escape.password")
    os.symlink(stolen, link)
    dotted = os.path.join(sec, "..", "outside", "hostname-like")
    return sec, good, stolen, {"outside": stolen, "symlink out": link, "dot-dot": dotted}


def config_text(sec, data_dir, password_file, port, repl=None):
    lines = ["[failoverd]", "node_id = 1", f"raft_address = 127.0.0.1:{PORT + 50}",
             f"admin_address = 127.0.0.1:{PORT + 51}", f"http_address = 127.0.0.1:{PORT + 52}",
             f"data_dir = {data_dir}", f"secrets_dir = {sec}", "", "[tls]", "insecure = yes", "",
             "[cluster evil]", "user = failoverd", f"password_file = {password_file}",
             f"instance = 127.0.0.1:{port}"]
    if repl:
        lines += ["repl_user = repl", f"repl_password_file = {repl}"]
    return "\n".join(lines) + "\n"


def part_config_load(root, sec, good, stolen, bad):
    failoverd = binary("failoverd")
    data = os.path.join(root, "data")
    os.makedirs(data, mode=0o700)
    watch, lst = OpenWatch(stolen), Listener()
    try:
        conf = os.path.join(root, "f.conf")
        cases = [(f"password_file {k}", p, None) for k, p in bad.items()]
        cases += [(f"repl_password_file {k}", good, p) for k, p in bad.items()]
        for what, pw, repl in cases:
            with open(conf, "w") as f:
                f.write(config_text(sec, data, pw, lst.port, repl))
            r = subprocess.run([failoverd, "--config", conf, "--check-config"], capture_output=True, text=True,
                               timeout=30)
            key = "repl_password_file" if repl else "password_file"
            check(r.returncode == 1 and f"[cluster evil] {key}" in r.stderr and
                  ("outside secrets_dir" in r.stderr or "'..'" in r.stderr),
                  f"config load refuses {what}: exit {r.returncode}: {r.stderr.strip()}")
            check("NOT-A-PASSWORD" not in r.stderr, f"{what}: the file's content is not in the error")
        # A real start refuses it too, before anything starts.
        with open(conf, "w") as f:
            f.write(config_text(sec, data, bad["symlink out"], lst.port))
        r = subprocess.run([failoverd, "--config", conf], capture_output=True, text=True, timeout=30)
        check(r.returncode == 1 and "outside secrets_dir" in r.stderr,
              f"failoverd does not start with a password file outside secrets_dir: {r.stderr.strip()}")
        check(watch.events() == 0, "the outside file was never opened by config load or start")
        check(lst.connections() == 0, "nothing connected to the named server")
        # Control: inside secrets_dir is fine.
        with open(conf, "w") as f:
            f.write(config_text(sec, data, good, lst.port))
        r = subprocess.run([failoverd, "--config", conf, "--check-config"], capture_output=True, text=True,
                           timeout=30)
        check(r.returncode == 0, f"control: a password file inside secrets_dir loads: {r.stderr.strip()}")
        with open(stolen) as f:  # control: the watch does see an open
            f.read()
        check(watch.events() > 0, "control: the inotify watch sees an open of the file")
    finally:
        watch.close()
        lst.close()


def part_cluster_add(root, sec, good, stolen, bad):
    watch, lst = OpenWatch(stolen), Listener()
    with ControllerRig(n=1, base_port=PORT, extra_failoverd={"secrets_dir": sec}) as c:
        try:
            c.start_all()
            c.wait_leader(timeout=20)
            for i, (k, p) in enumerate(bad.items()):
                for key in ("--password-file", "--repl-password-file"):
                    args = ["cluster", "add", f"evil{i}{key[2]}", "--user", "failoverd"]
                    args += ["--password-file", p] if key == "--password-file" else \
                        ["--password-file", good, "--repl-user", "repl", "--repl-password-file", p]
                    res = c.ctl(args)
                    text = (res.stdout + res.stderr)
                    check(res.rc != 0 and ("outside secrets_dir" in text or "'..'" in text or "'.'" in text),
                          f"cluster add with {key} {k} refused: rc {res.rc}: {text.strip()}")
                    check("NOT-A-PASSWORD" not in text, f"cluster add {key} {k}: no file content in the answer")
            check(watch.events() == 0, "cluster add never opened the outside file")
            topo = c.ctl(["status"])
            check(all(f"evil{i}" not in (topo.stdout or "") for i in range(3)), "no refused cluster was registered")
            # Control: a file inside secrets_dir is accepted the same way.
            res = c.ctl(["cluster", "add", "fine", "--user", "failoverd", "--password-file", good])
            check(res.rc == 0, f"control: cluster add with a password file inside secrets_dir: {res.stderr.strip()}")
            check(watch.events() == 0, "the outside file was still never opened")
            check(lst.connections() == 0, "nothing connected to the attacker's server")
        finally:
            watch.close()
            lst.close()


def main():
    require_binaries()
    root = tempfile.mkdtemp(prefix="fo-sec-")
    try:
        sec, good, stolen, bad = setup_files(root)
        part_config_load(root, sec, good, stolen, bad)
        part_cluster_add(root, sec, good, stolen, bad)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"{'FAILED: ' + str(len(FAILED)) if FAILED else 'all checks passed'}")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
