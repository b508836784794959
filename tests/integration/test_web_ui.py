#!/usr/bin/env python3
"""The read-only web dashboard (issue 15.2) in headless Chromium, against three real
failoverd nodes watching three real mariadbd servers, and its JSON under /api/v1.

  1. Every node serves /ui and /api/v1 (leader and followers); every JSON answer is
     strict UTF-8 JSON and contains no secret: neither the cluster's password nor the
     replication password, nor the path of either password file.
  2. Hostile paths get clear 404s: a 4 KiB path, unknown clusters, percent-encoded and
     `..` segments, a bad /check instance.
  3. Chromium loads /ui from the leader with no console error and shows the 3 servers
     with server 1 as primary; after `failoverctl switchover demo --to <server 2>` the
     page (loaded from a follower this time) shows server 2 as primary and the
     switchover in the history timeline with its phases. The screenshot is saved as
     $FO_BUILD_DIR/test-artifacts/dashboard.png.

Chromium is Debian's `chromium` package, run as `chromium --headless=new --no-sandbox
--dump-dom` (console messages from --enable-logging=stderr); missing: exit 77.
Ports: mariadb 31500-31502; failoverd admin 31510+, raft 31530+, http 31550+."""

import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.failover import FailoverEnv  # noqa: E402
from rig.util import MissingPrerequisite, check, run_test, step, wait_for  # noqa: E402

DB_PORT = 31500
CTL_PORT = 31510
API_PATHS = ["/api/v1/clusters", "/api/v1/members", "/api/v1/clusters/demo", "/api/v1/clusters/demo/history",
             "/api/v1/clusters/demo/why"]


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    raise MissingPrerequisite("chromium is not installed (Debian package chromium)")


def raw_get(hostport, path, timeout=5.0):
    """GET path exactly as given (no client-side normalisation): (status, body bytes, content type)."""
    host, port = hostport.rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        c.putrequest("GET", path, skip_accept_encoding=True)
        c.endheaders()
        r = c.getresponse()
        return r.status, r.read(), r.getheader("Content-Type", "")
    finally:
        c.close()


def get_json(hostport, path):
    status, body, ctype = raw_get(hostport, path)
    check(status == 200, f"GET {path} on {hostport}: {status} {body[:300]!r}")
    check(ctype.startswith("application/json"), f"GET {path}: content type {ctype!r}")
    return json.loads(body.decode("utf-8", "strict"))


class Browser:
    """Headless Chromium runs: DOM dumps and screenshots, with the console messages."""

    def __init__(self, tmp):
        self.exe = chromium()
        self.tmp = tmp
        self.n = 0

    def run(self, url, extra, budget_ms):
        self.n += 1
        profile = os.path.join(self.tmp, f"profile{self.n}")
        argv = [self.exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-extensions", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--metrics-recording-only", "--no-default-browser-check",
                f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
                f"--virtual-time-budget={budget_ms}", "--window-size=1400,1000"] + extra + [url]
        p = subprocess.run(argv, capture_output=True, timeout=60)
        shutil.rmtree(profile, ignore_errors=True)
        err = p.stderr.decode("utf-8", "replace")
        console = [ln for ln in err.splitlines() if "CONSOLE" in ln or "Uncaught" in ln]
        return p.returncode, p.stdout.decode("utf-8", "replace"), console, err

    def dom(self, url, budget_ms=5000):
        rc, out, console, err = self.run(url, ["--dump-dom"], budget_ms)
        check(rc == 0 and "<html" in out, f"chromium --dump-dom {url}: exit {rc}\n{err[-2000:]}")
        return out, console

    def screenshot(self, url, path, budget_ms=5000):
        rc, _, console, err = self.run(url, [f"--screenshot={path}"], budget_ms)
        check(rc == 0 and os.path.getsize(path) > 10000, f"chromium --screenshot: exit {rc}\n{err[-2000:]}")
        return console


def console_errors(lines):
    """Every console message: the page logs nothing itself, so any message is an error,
    an uncaught exception or a failed load. (Chromium's stderr log shows console.error()
    at level INFO, so the level cannot be relied on.)"""
    return [ln for ln in lines if "CONSOLE" in ln or "Uncaught" in ln]


def server_rows(dom):
    """{address: role} from the servers table of a dumped DOM."""
    return dict(re.findall(r'<tr data-address="([^"]+)" data-role="([a-z]+)"', dom))


def dashboard_state(browser, url, want_rows):
    dom, console = browser.dom(url)
    errs = console_errors(console)
    check(not errs, "console errors:\n" + "\n".join(errs))
    rows = server_rows(dom)
    if len(rows) != want_rows or 'data-loaded="1"' not in dom:
        return None
    m = re.search(r'<b id="primary">([^<]*)</b>', dom)
    return dom, rows, (m.group(1) if m else None)


def check_secrets(env, nodes, secrets):
    for node in nodes:
        for path in API_PATHS + ["/ui"]:
            status, body, _ = raw_get(env.c.nodes[node].http, path)
            check(status == 200, f"node {node} {path}: {status}")
            text = body.decode("utf-8", "strict")  # strict: the JSON must be valid UTF-8
            if path != "/ui":
                json.loads(text)
            for s in secrets:
                check(s not in text, f"node {node} {path} contains the secret {s!r}")
            check("password" not in text.lower() or path == "/ui",
                  f"node {node} {path} names a password field: {text[:400]}")


def check_hostile(hp):
    cases = [
        ("/api/v1/clusters/" + "a" * 4096, (404, 414, 431)),
        ("/api/v1/clusters/nosuch", (404,)),
        ("/api/v1/clusters/nosuch/history", (404,)),
        ("/api/v1/clusters/demo/nosuch", (404,)),
        ("/api/v1/clusters/..", (404,)),
        ("/api/v1/clusters/%2e%2e/why", (404,)),
        ("/api/v1/clusters/demo%2f..%2fmembers", (404,)),
        ("/api/v1/clusters/demo/../members", (404,)),
        ("/api/v1/clusters/%00demo", (404,)),
        ("/api/v1/clusters/d%C3%A9mo", (404,)),
        ("/api/v1/../../etc/passwd", (404,)),
        ("/api/v2/clusters", (404,)),
        ("/ui/../metrics", (404,)),
        ("/check/demo/..", (404,)),
        ("/check/demo/127.0.0.1", (404,)),
        ("/check/demo/127.0.0.1:0", (404,)),
        ("/check/nosuch/127.0.0.1:3306", (404,)),
        ("/check/demo/127.0.0.1:1", (404,)),
        ("/check-replica/demo/%2e%2e%2f:1", (404,)),
        ("/check/" + "x" * 600, (404,)),
    ]
    for path, want in cases:
        status, body, ctype = raw_get(hp, path)
        check(status in want, f"GET {path[:80]}: {status} (want {want}): {body[:200]!r}")
        check(body.startswith(b"not found") or b'"error"' in body, f"GET {path[:80]}: unclear 404 body {body[:200]!r}")
        if ctype.startswith("application/json"):
            j = json.loads(body.decode("utf-8", "strict"))
            check("error" in j, f"GET {path[:80]}: 404 without an error field: {body[:200]!r}")
    step(f"{len(cases)} hostile paths answered with clear 404s")


def main():
    tmp = tempfile.mkdtemp(prefix="fo-webui-")
    try:
        browser = Browser(tmp)
        with FailoverEnv(db_port=DB_PORT, ctl_port=CTL_PORT, n_db=3,
                         failover=dict(step_timeout_ms=5000, relay_wait_ms=5000)) as env:
            env.wait_healthy(1, [2, 3])
            leader = env.c.wait_leader(20)
            follower = [i for i in env.c.running_ids() if i != leader][0]
            secrets = []
            for f in (env.db.password_file, env.db.repl_password_file):
                secrets.append(f)
                with open(f) as fh:
                    secrets.append(fh.readline().strip())
            check(all(len(s) >= 6 for s in secrets), f"rig secrets too short to grep for: {secrets}")
            check_secrets(env, env.c.running_ids(), secrets)
            step("every node serves /ui and /api/v1: strict UTF-8 JSON, no password or password file")
            check_hostile(env.c.nodes[leader].http)

            url = f"http://{env.c.nodes[leader].http}/ui"
            t0 = time.monotonic()
            _, rows, primary = wait_for(lambda: dashboard_state(browser, url, 3), 30, "the dashboard to show 3 servers")
            check(primary == env.addr(1), f"dashboard primary {primary!r}, want {env.addr(1)}")
            check(rows == {env.addr(1): "primary", env.addr(2): "replica", env.addr(3): "replica"},
                  f"dashboard rows {rows}")
            step(f"Chromium: the dashboard from the leader shows {sorted(rows)} with primary {primary}, "
                 f"no console error ({time.monotonic() - t0:.1f}s)")

            res = env.ctl(["switchover", "demo", "--to", env.addr(2)], timeout_ms=60000, proc_timeout=90)
            check(res.rc == 0, f"switchover: {res.describe()}")
            env.wait_healthy(2, [1, 3], timeout=30)
            url = f"http://{env.c.nodes[follower].http}/ui"

            def after():
                st = dashboard_state(browser, url, 3)
                if st is None or st[2] != env.addr(2) or st[1].get(env.addr(2)) != "primary":
                    return None
                dom = st[0]
                m = re.search(r'<div class="item (\w+)" data-epoch="1" data-kind="switchover">(.*?)</div></div>',
                              dom, re.S)
                return m and m.group(1) == "success" and (st, m.group(2))

            (dom, rows, primary), item = wait_for(after, 40, "the dashboard to show the new primary and the switchover")
            check(f"{env.addr(1)} → {env.addr(2)}" in item, f"history item: {item[:500]}")
            check(re.search(r"fence \d+ ms", item) and re.search(r"promote \d+ ms", item),
                  f"history item lacks phases: {item[:600]}")
            step(f"Chromium: from follower {follower}, primary {primary}, rows {rows}, history shows "
                 f"switchover #1 success with its phases")

            out_dir = os.path.join(os.environ.get("FO_BUILD_DIR", tmp), "test-artifacts")
            os.makedirs(out_dir, exist_ok=True)
            shot = os.path.join(out_dir, "dashboard.png")
            console = browser.screenshot(f"http://{env.c.nodes[leader].http}/ui", shot)
            errs = console_errors(console)
            check(not errs, "console errors:\n" + "\n".join(errs))
            step(f"screenshot: {shot} ({os.path.getsize(shot)} bytes)")
            check_secrets(env, env.c.running_ids(), secrets)
            step("after the switchover, still no secret in any response")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run_test(main)
