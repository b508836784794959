"""Hosts with their own addresses for tests: Linux network namespaces joined by a
bridge (DESIGN.md §10).

    skip_unless_available("test_x")                  # exits 77 if namespaces are not allowed
    with NetnsRig(["db1", "db2", "ctl1"]) as net:    # NetnsUnavailable if not allowed
        net.addr("db1")                               # "10.231.0.11"
        p = Proc("x", net.wrap("db1", ["mariadbd", ...]), log).start()  # pid is mariadbd's
        net.cut("ctl1", "db1")        # ctl1 can no longer reach db1 (blackhole route)
        net.heal("ctl1", "db1")
        net.run("ctl1", ["failoverctl", ...])         # subprocess.run inside ctl1

Layout: one "switch" namespace holding a bridge (br0); one namespace per host with
its loopback up and `eth0` = one end of a veth pair whose other end is a port of the
bridge. Host k (0-based, in the order given) gets 10.231.0.(11+k)/24, a private /24
that exists only inside these namespaces: nothing is added to the initial namespace,
so the machine's own network is never touched.

Namespace names are "fo<pid>-<host>" (and "fo<pid>-sw"), pid being the test's
process: names never collide between concurrent runs, and setup() also deletes
namespaces matching that pattern whose owning pid is no longer alive (left by a
test killed with SIGKILL). teardown() deletes every namespace the rig made, also
when a test fails; it runs from the rig's clean-up chain, after the processes
started inside them were stopped (register this rig before the rigs that start
processes inside it, or use it as the outermost `with`).

`ip netns exec NS PROG ...` execs PROG inside NS (no intermediate process), so the
pid of a Proc started with wrap() is the program's own pid and can be signalled."""

import os
import re
import subprocess
import sys

from rig.util import (RigError, MissingPrerequisite, SKIP_EXIT, register_cleanup, unregister_cleanup,
                      pid_alive)

SUBNET = "10.231.0"
PREFIX_LEN = 24
FIRST_HOST = 11
NETNS_DIR = "/run/netns"
_NAME_RE = re.compile(r"^fo(\d+)-[a-z0-9]+$")
IFNAME_MAX = 15


class NetnsUnavailable(MissingPrerequisite):
    """`ip netns add` failed with a permission error, or there is no `ip` command: the
    test cannot use namespaces here (run_test reports a skip, exit 77)."""


def _ip(args, check=True, timeout=30):
    try:
        r = subprocess.run(["ip"] + list(args), stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=timeout)
    except FileNotFoundError:
        raise NetnsUnavailable("no `ip` command (install iproute2)") from None
    if check and r.returncode != 0:
        raise RigError(f"`ip {' '.join(args)}` failed (exit {r.returncode}): "
                       f"{(r.stderr or r.stdout).strip()}")
    return r


def _permission_error(text):
    t = text.lower()
    return "operation not permitted" in t or "permission denied" in t


def existing_namespaces():
    try:
        return sorted(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return []


def available():
    """(True, "") if this process may create network namespaces, else (False, why):
    False only for a permission error from `ip netns add` or a missing `ip` command;
    other failures raise."""
    name = f"fo{os.getpid()}-probe"
    try:
        r = _ip(["netns", "add", name], check=False)
    except NetnsUnavailable as e:
        return False, str(e)
    if r.returncode == 0:
        _ip(["netns", "del", name], check=False)
        return True, ""
    msg = (r.stderr or r.stdout).strip()
    if _permission_error(msg):
        return False, f"`ip netns add {name}`: {msg}"
    raise RigError(f"`ip netns add {name}` failed (exit {r.returncode}): {msg}")


def skip_unless_available(test):
    """The one place where a test is skipped for want of network namespaces: unless
    this process may create them, prints "SKIP <test>: ..." and exits SKIP_EXIT (77,
    ctest's SKIP_RETURN_CODE): a skip, never a pass (STYLE.md §19). Call it before
    run_test(main). Any other failure of the probe raises (the test fails)."""
    ok, why_not = available()
    if not ok:
        print(f"SKIP {test}: network namespaces are not permitted here ({why_not})", flush=True)
        sys.exit(SKIP_EXIT)


def delete_stale():
    """Deletes namespaces named like ours whose owning process is gone. Returns them."""
    gone = []
    for ns in existing_namespaces():
        m = _NAME_RE.match(ns)
        if m and not pid_alive(int(m.group(1))):
            if _ip(["netns", "del", ns], check=False).returncode == 0:
                gone.append(ns)
    return gone


class NetnsRig:
    def __init__(self, hosts, subnet=SUBNET, tag=None):
        if len(hosts) != len(set(hosts)):
            raise RigError(f"duplicate host names in {hosts}")
        if len(hosts) > 200:
            raise RigError("too many hosts for one /24")
        for h in hosts:
            if not re.match(r"^[a-z][a-z0-9]{0,9}$", h) or h == "sw":
                raise RigError(f"host name {h!r}: use 1-10 lowercase letters/digits, not 'sw'")
        self.hosts = list(hosts)
        self.subnet = subnet
        self.tag = tag or f"fo{os.getpid()}"
        self.switch = f"{self.tag}-sw"
        self._addr = {h: f"{subnet}.{FIRST_HOST + k}" for k, h in enumerate(self.hosts)}
        self.made = []          # namespaces created, in order
        self.cuts = set()       # (a, b): blackhole route for b's address in a's namespace
        self._torn_down = False

    # ------------------------------------------------------------ names

    def ns(self, host):
        if host not in self._addr:
            raise RigError(f"unknown host {host!r} (hosts: {self.hosts})")
        return f"{self.tag}-{host}"

    def addr(self, host):
        if host not in self._addr:
            raise RigError(f"unknown host {host!r} (hosts: {self.hosts})")
        return self._addr[host]

    def host_of(self, address):
        """The host owning an IP address (or "ip:port"), or None."""
        ip = address.rsplit(":", 1)[0] if address.count(":") == 1 else address
        for h, a in self._addr.items():
            if a == ip:
                return h
        return None

    # ------------------------------------------------------------ lifecycle

    def __enter__(self):
        try:
            self.setup()
        except BaseException:
            self.teardown()
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        self.teardown()
        return False

    def _add_ns(self, name):
        r = _ip(["netns", "add", name], check=False)
        if r.returncode != 0:
            msg = (r.stderr or r.stdout).strip()
            if _permission_error(msg):
                raise NetnsUnavailable(f"`ip netns add {name}` failed: {msg}")
            raise RigError(f"`ip netns add {name}` failed (exit {r.returncode}): {msg}")
        self.made.append(name)

    def setup(self):
        register_cleanup(self.teardown)
        stale = delete_stale()
        if stale:
            print(f"rig.netns: deleted stale namespaces left by dead tests: {', '.join(stale)}",
                  file=sys.stderr, flush=True)
        self._add_ns(self.switch)
        sw = self.switch
        _ip(["-n", sw, "link", "set", "lo", "up"])
        _ip(["-n", sw, "link", "add", "br0", "type", "bridge"])
        _ip(["-n", sw, "link", "set", "br0", "up"])
        for k, h in enumerate(self.hosts):
            ns = self.ns(h)
            self._add_ns(ns)
            port = f"p{k}-{h}"[:IFNAME_MAX]
            # Both ends are created directly in their namespaces: the initial
            # namespace never sees an interface of the rig.
            _ip(["-n", sw, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns])
            _ip(["-n", sw, "link", "set", port, "master", "br0"])
            _ip(["-n", sw, "link", "set", port, "up"])
            _ip(["-n", ns, "link", "set", "lo", "up"])
            _ip(["-n", ns, "addr", "add", f"{self.addr(h)}/{PREFIX_LEN}", "dev", "eth0"])
            _ip(["-n", ns, "link", "set", "eth0", "up"])
        # The bridge forwards only once its ports have left the "learning" states;
        # a bridge without STP does that at once, but wait until every host answers.
        for h in self.hosts[1:]:
            self.wait_reachable(self.hosts[0], h)
        return self

    def wait_reachable(self, a, b, timeout=10.0):
        """Waits until a TCP connection attempt from a to b gets an answer (a refusal
        from a closed port is an answer: the path works). RigError otherwise."""
        import time
        probe = ("import socket,sys\n"
                 "try:\n"
                 "    socket.create_connection((sys.argv[1], 9), timeout=1).close()\n"
                 "except ConnectionRefusedError:\n"
                 "    pass\n")
        deadline = time.monotonic() + timeout
        while True:
            r = self.run(a, [sys.executable, "-c", probe, self.addr(b)], check=False, timeout=5)
            if r.returncode == 0:
                return
            if time.monotonic() >= deadline:
                raise RigError(f"{b} ({self.addr(b)}) unreachable from {a} after {timeout:g}s: "
                               f"{(r.stdout + r.stderr).strip()[-300:]}")
            time.sleep(0.1)

    def teardown(self):
        """Deletes every namespace this rig made (hosts first, switch last). Idempotent.
        Processes still running inside keep their namespace alive but lose its name;
        the rigs that started them stop them by pid before this runs."""
        if self._torn_down:
            return
        self._torn_down = True
        unregister_cleanup(self.teardown)
        errors = []
        for name in reversed(self.made):
            r = _ip(["netns", "del", name], check=False)
            if r.returncode != 0 and name in existing_namespaces():
                errors.append(f"{name}: {(r.stderr or r.stdout).strip()}")
        self.made = []
        if errors:
            raise RigError("could not delete namespaces: " + "; ".join(errors))

    # ------------------------------------------------------------ running things inside

    def wrap(self, host, argv):
        """argv to run `argv` inside host's namespace (execs: the pid is the program's)."""
        return ["ip", "netns", "exec", self.ns(host)] + [str(a) for a in argv]

    def run(self, host, argv, check=False, timeout=60, input=None):
        """subprocess.run of argv inside host's namespace (text, output captured)."""
        try:
            r = subprocess.run(self.wrap(host, argv), stdin=None if input is not None else subprocess.DEVNULL,
                               input=input, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RigError(f"in {host}: `{' '.join(map(str, argv))}` did not exit within {timeout}s") from None
        if check and r.returncode != 0:
            raise RigError(f"in {host}: `{' '.join(map(str, argv))}` exited {r.returncode}: "
                           f"{(r.stderr or r.stdout).strip()[:1000]}")
        return r

    # ------------------------------------------------------------ partitions

    def cut(self, a, b, both=False):
        """a can no longer send to b: a blackhole route for b's address in a's
        namespace (TCP between them then fails in both directions, since a's
        answers are dropped too). both=True also adds the mirror route in b."""
        pairs = [(a, b)] + ([(b, a)] if both else [])
        for x, y in pairs:
            if (x, y) in self.cuts:
                continue
            _ip(["-n", self.ns(x), "route", "add", "blackhole", f"{self.addr(y)}/32"])
            self.cuts.add((x, y))

    def heal(self, a, b, both=False):
        pairs = [(a, b)] + ([(b, a)] if both else [])
        for x, y in pairs:
            if (x, y) not in self.cuts:
                continue
            _ip(["-n", self.ns(x), "route", "del", "blackhole", f"{self.addr(y)}/32"])
            self.cuts.discard((x, y))

    def heal_all(self):
        for x, y in sorted(self.cuts):
            self.heal(x, y)

    def routes(self, host):
        return _ip(["-n", self.ns(host), "route", "show"]).stdout
