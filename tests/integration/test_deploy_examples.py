#!/usr/bin/env python3
"""The deployment pieces of deploy/ are valid and agree with each other (issue 4).

  1. deploy/examples/failoverd-{1,2,3}.conf and failover-agent-db{1,2,3}.conf describe
     one deployment: node ids 1..3, the same [peer] sections everywhere, each agent
     listening on an instance's host at the cluster's agent_port and allowing exactly
     the cluster's vip on vip_interface.
  2. Every file they name lies under /etc/failoverd, /etc/failover-agent or /var/lib.
     Those prefixes are rewritten into a temp dir that holds certificates made by
     deploy/gen-certs.sh (with the names the examples use) and password files; every
     TLS and password file named must then exist, and `failoverd --check-config` /
     `failover-agent --check-config` must accept each rewritten copy (exit 0). A copy
     without its password file and one with a misspelt key must be refused (exit 1),
     so the check is known to look.
  3. sd_notify: a one-node failoverd and an agent (loopback, insecure = yes) started
     with NOTIFY_SOCKET send READY=1 once serving and STOPPING=1 on SIGTERM, exit 0.
  4. deploy/systemd/*.service run the binaries with the config paths the examples are
     meant for, use the examples' data_dir / state_dir as StateDirectory, and pass
     `systemd-analyze verify` with no message (without the tool the other checks
     still run, then the test ends as skipped, exit 77: never a pass).

Ports (loopback only): 25700-25702 failoverd, 25710-25711 agent."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.util import Proc, RigError, check, require_ports_free, run_test, skip_part, step, tail  # noqa: E402

SRC = os.environ.get("FO_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("FO_BUILD_DIR", os.path.join(SRC, "build"))
FAILOVERD = os.path.join(BUILD, "bin", "failoverd")
AGENT = os.path.join(BUILD, "bin", "failover-agent")
EXAMPLES = os.path.join(SRC, "deploy", "examples")
UNITS = os.path.join(SRC, "deploy", "systemd")
CTL_CONFS = [f"failoverd-{n}.conf" for n in (1, 2, 3)]
AGENT_CONFS = [f"failover-agent-db{n}.conf" for n in (1, 2, 3)]
PREFIXES = ("/etc/failoverd/", "/etc/failover-agent/", "/var/lib/")
FILE_KEYS = {"ca_file", "cert_file", "key_file", "password_file", "repl_password_file"}
PATH_KEYS = FILE_KEYS | {"data_dir", "state_dir", "pre_failover", "post_failover", "post_failover_failed"}

# ---------------------------------------------------------------- reading the examples


def parse_ini(path):
    """[(section, key, value)] in file order; duplicate keys (instance, vip) are kept.
    Only what the examples use: whole-line ';' / '#' comments, 'key = value'."""
    out, section = [], None
    with open(path) as f:
        for n, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line[0] in ";#":
                continue
            if line.startswith("["):
                check(line.endswith("]"), f"{path}:{n}: malformed section header")
                section = line[1:-1]
                continue
            check("=" in line and section is not None, f"{path}:{n}: expected 'key = value' inside a section")
            k, v = (s.strip() for s in line.split("=", 1))
            out.append((section, k, v))
    return out


def values(entries, section, key):
    return [v for s, k, v in entries if s == section and k == key]


def one(entries, section, key, path):
    v = values(entries, section, key)
    check(len(v) == 1, f"{path}: expected one [{section}] {key}, found {len(v)}")
    return v[0]


def check_consistency():
    ctl = {name: parse_ini(os.path.join(EXAMPLES, name)) for name in CTL_CONFS}
    agents = {name: parse_ini(os.path.join(EXAMPLES, name)) for name in AGENT_CONFS}
    peers = None
    for n, name in enumerate(CTL_CONFS, 1):
        e = ctl[name]
        check(one(e, "failoverd", "node_id", name) == str(n), f"{name}: node_id is not {n}")
        mine = [(s, k, v) for s, k, v in e if s.startswith("peer ")]
        check(peers is None or mine == peers, f"{name}: [peer] sections differ from {CTL_CONFS[0]}")
        peers = mine
        for key in ("raft_address", "admin_address", "http_address"):
            check(one(e, "failoverd", key, name) == one(e, f"peer {n}", key, name),
                  f"{name}: [failoverd] {key} is not [peer {n}]'s")
        rest = [(s, k, v) for s, k, v in e if s != "failoverd" and s != "tls"]
        first = [(s, k, v) for s, k, v in ctl[CTL_CONFS[0]] if s != "failoverd" and s != "tls"]
        check(rest == first, f"{name}: sections other than [failoverd] and [tls] differ from {CTL_CONFS[0]}")
    e = ctl[CTL_CONFS[0]]
    clusters = sorted({s[len("cluster "):] for s, _, _ in e if s.startswith("cluster ")})
    check(clusters, f"{CTL_CONFS[0]}: no [cluster] section")
    for cl in clusters:
        sec = f"cluster {cl}"
        hosts = [v.split()[0].rsplit(":", 1)[0] for v in values(e, sec, "instance")]
        port = one(e, sec, "agent_port", CTL_CONFS[0])
        vip = f"{one(e, sec, 'vip', CTL_CONFS[0])} {one(e, sec, 'vip_interface', CTL_CONFS[0])}"
        listens = []
        for name in AGENT_CONFS:
            a = agents[name]
            check(values(a, sec, "vip") == [vip], f"{name}: [{sec}] vip is not '{vip}' (the controllers' vip)")
            listens.append(one(a, "agent", "listen", name))
        check(sorted(listens) == sorted(f"{h}:{port}" for h in hosts),
              f"agents listen on {listens}, controllers expect agents at {hosts} port {port}")
    step(f"examples agree: 3 controllers, {len(clusters)} cluster(s), agents at {', '.join(listens)}")
    return ctl, agents


# ---------------------------------------------------------------- rewritten copies


def rewrite(text, root):
    for p in PREFIXES:
        text = text.replace(p, os.path.join(root, p.strip("/")) + "/")
    return text


def make_files(root, ctl, agents):
    """Certificates (gen-certs.sh) and password files for every name the examples use."""
    entries = []
    for name in CTL_CONFS:
        e = ctl[name]
        cert = os.path.basename(one(e, "tls", "cert_file", name))[:-len(".crt")]
        host = one(e, "failoverd", "admin_address", name).rsplit(":", 1)[0]
        node = one(e, "failoverd", "node_id", name)
        entries.append(f"controller:{cert},{host},node={node}")
    for name in AGENT_CONFS:
        a = agents[name]
        cert = os.path.basename(one(a, "agent", "cert_file", name))[:-len(".crt")]
        host = one(a, "agent", "listen", name).rsplit(":", 1)[0]
        entries.append(f"agent:{cert},{host}")
    tls = os.path.join(root, "tls")
    r = subprocess.run(["sh", os.path.join(SRC, "deploy", "gen-certs.sh"), "--out", tls] + entries,
                       capture_output=True, text=True, timeout=180)
    if r.returncode != 0:
        raise RigError(f"gen-certs.sh failed: {r.stderr.strip()}")
    for d in ("etc/failoverd/tls", "etc/failover-agent/tls"):
        shutil.copytree(tls, os.path.join(root, d), dirs_exist_ok=True)
    for name, e in list(ctl.items()) + list(agents.items()):
        for s, k, v in e:
            if k in ("password_file", "repl_password_file"):
                p = rewrite(v, root)
                os.makedirs(os.path.dirname(p), exist_ok=True)
                with open(p, "w") as f:
                    f.write("not-a-real-password\n")
                os.chmod(p, 0o600)
            if k in ("data_dir", "state_dir"):
                os.makedirs(rewrite(v, root), mode=0o700, exist_ok=True)
    step(f"made {len(entries)} certificates with gen-certs.sh and the password files under {root}")


def rewritten_copy(name, entries, root):
    """The example with its paths moved under root; every path it names must be under
    one of PREFIXES, and every TLS or password file must exist after the move."""
    for s, k, v in entries:
        if k in PATH_KEYS:
            check(v.startswith(PREFIXES), f"{name}: [{s}] {k} = {v} is outside {', '.join(PREFIXES)}")
            if k in FILE_KEYS:
                check(os.path.isfile(rewrite(v, root)),
                      f"{name}: [{s}] {k} = {v}: no such file among those gen-certs.sh made / the test wrote")
    with open(os.path.join(EXAMPLES, name)) as f:
        text = rewrite(f.read(), root)
    out = os.path.join(root, name)
    with open(out, "w") as f:
        f.write(text)
    return out


def run_check(binary, conf):
    return subprocess.run([binary, "--config", conf, "--check-config"], capture_output=True, text=True, timeout=30)


def check_configs(root, ctl, agents):
    for binary, table in ((FAILOVERD, ctl), (AGENT, agents)):
        for name, entries in table.items():
            conf = rewritten_copy(name, entries, root)
            r = run_check(binary, conf)
            check(r.returncode == 0, f"{os.path.basename(binary)} --check-config {name}: exit {r.returncode}: "
                                     f"{r.stderr.strip()}")
            check(r.stdout.strip() == f"{conf}: ok", f"{name}: unexpected output {r.stdout!r}")
            step(f"{os.path.basename(binary)} --check-config {name}: ok")
    # Negative controls: the same checks refuse a broken copy.
    conf = os.path.join(root, CTL_CONFS[0])
    pw = rewrite([v for _, k, v in ctl[CTL_CONFS[0]] if k == "password_file"][0], root)
    hidden = os.path.join(root, "hidden")
    os.rename(pw, hidden)
    try:
        r = run_check(FAILOVERD, conf)
    finally:
        os.rename(hidden, pw)
    check(r.returncode == 1 and "password_file" in r.stderr,
          f"failoverd accepted {CTL_CONFS[0]} without its password file (exit {r.returncode}: {r.stderr.strip()})")
    bad = os.path.join(root, "typo-" + AGENT_CONFS[0])
    with open(os.path.join(root, AGENT_CONFS[0])) as f:
        text = f.read()
    check("\narp_count = " in text, f"{AGENT_CONFS[0]}: no arp_count line to misspell")
    with open(bad, "w") as f:
        f.write(text.replace("\narp_count = ", "\narp_cuont = "))
    r = run_check(AGENT, bad)
    check(r.returncode == 1 and "arp_cuont" in r.stderr,
          f"failover-agent accepted a misspelt key (exit {r.returncode}: {r.stderr.strip()})")
    step("broken copies are refused (missing password file, misspelt key)")


# ---------------------------------------------------------------- sd_notify


def notify_roundtrip(root, what, argv, log):
    """Starts argv with NOTIFY_SOCKET; expects READY=1, then STOPPING=1 after SIGTERM."""
    path = os.path.join(root, f"notify-{what}.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    proc = Proc(what, argv, log, env=dict(os.environ, NOTIFY_SOCKET=path))
    try:
        proc.start()
        deadline = time.monotonic() + 30
        msgs = []
        while not any(m.startswith("READY=1") for m in msgs):
            left = deadline - time.monotonic()
            check(left > 0 and proc.alive(), f"{what}: no READY=1 ({proc.describe_exit()}; got {msgs}); "
                                             f"log:\n{tail(log)}")
            sock.settimeout(min(left, 0.5))
            try:
                msgs.append(sock.recv(4096).decode())
            except socket.timeout:
                pass
        ready = [m for m in msgs if m.startswith("READY=1")][0]
        check("\nSTATUS=" in ready, f"{what}: READY=1 without a STATUS line: {ready!r}")
        step(f"{what} (pid {proc.pid}) ready: {ready.splitlines()[-1]}")
        proc.signal(signal.SIGTERM)
        sock.settimeout(20)
        try:
            msg = sock.recv(4096).decode()
        except socket.timeout:
            msg = "(nothing within 20 s)"
        check(msg.startswith("STOPPING=1"), f"{what}: after SIGTERM expected STOPPING=1, got {msg!r}")
        rc = proc.wait(30)
        check(rc == 0, f"{what}: {proc.describe_exit()} after SIGTERM; log:\n{tail(log)}")
        step(f"{what}: STOPPING=1, exit 0")
    finally:
        proc.stop(timeout=20)
        sock.close()


def check_notify(root):
    require_ports_free([25700, 25701, 25702, 25710, 25711], "test_deploy_examples")
    d = os.path.join(root, "notify")
    os.makedirs(os.path.join(d, "agent-state"))
    ctl = os.path.join(d, "failoverd.conf")
    with open(ctl, "w") as f:
        f.write(f"""[failoverd]
node_id = 1
raft_address = 127.0.0.1:25701
admin_address = 127.0.0.1:25700
http_address = 127.0.0.1:25702
data_dir = {d}/data
election_timeout_ms = 500
heartbeat_timeout_ms = 50

[peer 1]
raft_address = 127.0.0.1:25701
admin_address = 127.0.0.1:25700
http_address = 127.0.0.1:25702

[tls]
insecure = yes
""")
    agent = os.path.join(d, "agent.conf")
    with open(agent, "w") as f:
        f.write(f"""[agent]
listen = 127.0.0.1:25710
http_address = 127.0.0.1:25711
state_dir = {d}/agent-state
insecure = yes
""")
    notify_roundtrip(d, "failoverd", [FAILOVERD, "--config", ctl], os.path.join(d, "failoverd.log"))
    notify_roundtrip(d, "failover-agent", [AGENT, "--config", agent], os.path.join(d, "agent.log"))


# ---------------------------------------------------------------- systemd units


def unit_value(text, key):
    v = re.findall(rf"^{key}=(.*)$", text, re.M)
    return v


def check_units(root, ctl, agents):
    expect = {
        "failoverd.service": ("/usr/local/sbin/failoverd", "/etc/failoverd/failoverd.conf",
                              one(ctl[CTL_CONFS[0]], "failoverd", "data_dir", CTL_CONFS[0])),
        "failover-agent.service": ("/usr/local/sbin/failover-agent", "/etc/failover-agent/agent.conf",
                                   one(agents[AGENT_CONFS[0]], "agent", "state_dir", AGENT_CONFS[0])),
    }
    udir = os.path.join(root, "units")
    os.makedirs(udir)
    copies = []
    for unit, (binary, conf, state) in expect.items():
        with open(os.path.join(UNITS, unit)) as f:
            text = f.read()
        check(unit_value(text, "Type") == ["notify"], f"{unit}: Type is not notify")
        check(unit_value(text, "ExecStart") == [f"{binary} --config {conf}"],
              f"{unit}: ExecStart is {unit_value(text, 'ExecStart')}, expected '{binary} --config {conf}'")
        check(unit_value(text, "StateDirectory") == [os.path.relpath(state, "/var/lib")],
              f"{unit}: StateDirectory {unit_value(text, 'StateDirectory')} is not the examples' {state}")
        # systemd-analyze verify insists that ExecStart's binary exists: use the build's.
        out = os.path.join(udir, unit)
        with open(out, "w") as f:
            f.write(text.replace(os.path.dirname(binary) + "/", os.path.join(BUILD, "bin") + "/"))
        copies.append(out)
    step("units: Type=notify, ExecStart and StateDirectory match the examples")
    tool = shutil.which("systemd-analyze")
    if tool is None:
        skip_part("systemd-analyze verify of the units (systemd-analyze is not installed)")
        return
    r = subprocess.run([tool, "verify"] + copies, capture_output=True, text=True, timeout=120)
    # verify exits 0 even for unknown keys or bad values; any message about our units
    # is a failure. Messages about other units installed on this host are not ours.
    ours = [ln for ln in (r.stdout + r.stderr).splitlines() if any(os.path.basename(c) in ln for c in copies)]
    check(r.returncode == 0 and not ours, f"systemd-analyze verify: exit {r.returncode}:\n{r.stdout}{r.stderr}")
    step("systemd-analyze verify: no complaints")


def main():
    for b in (FAILOVERD, AGENT):
        if not os.access(b, os.X_OK):
            raise RigError(f"{b} is not built")
    root = tempfile.mkdtemp(prefix="fo-deploy-")
    try:
        ctl, agents = check_consistency()
        make_files(root, ctl, agents)
        check_configs(root, ctl, agents)
        check_units(root, ctl, agents)
        check_notify(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(run_test(main))
