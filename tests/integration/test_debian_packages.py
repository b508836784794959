#!/usr/bin/env python3
"""The Debian packages (issue 15, item 1): build, lintian, install, check, purge.

  1. Copies the source tree (without build directories and .git) into a temporary
     directory, so the work tree is never dirtied, and builds the three binary
     packages there with `dpkg-buildpackage -b -us -uc` (debhelper, Debian's build
     flags, no -Werror, no tests: debian/rules).
  2. Runs lintian on the .changes: any E: fails the test; W: lines are printed.
  3. Installs the packages with `dpkg -i` and checks: `--version` of the three
     programs; failoverctl --help names the supported server versions; the two system
     users exist; the units are installed in /lib/systemd/system but neither enabled
     nor running (the postinst must not start a service configured with an example);
     the example configurations are conffiles; the man pages and the bash completion
     are where man(1) and bash-completion look; `systemd-analyze verify` accepts both
     units offline (systemd is not PID 1 here; if verify cannot run at all, the test
     exits 77 with its reason).
  4. `dpkg --purge` of the three packages, after which nothing they installed is left
     in /usr, /etc/failoverd or /etc/failover-agent.

Needs root, dpkg-buildpackage, lintian and the build dependencies (deploy/install-deps.sh);
without them it exits 77. Refuses (exit 77) to run when any of the three packages is
already installed, rather than replace or purge an operator's installation. No ports
or network namespaces are used. Takes about 60-90 s on 2 cores (most of it the build)."""

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time

PACKAGES = ["failoverd", "failover-agent", "failoverctl"]
SKIP = 77
# What the package build must not copy: other builds, VCS data, caches.
IGNORE = shutil.ignore_patterns(".git", "build", "build-*", "__pycache__", "*.pyc", "obj-*")


def log(msg):
    print(f"test_debian_packages: {msg}", flush=True)


def skip(why):
    log(f"SKIP: {why}")
    sys.exit(SKIP)


def run(cmd, cwd=None, check=True, env=None, timeout=600):
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}\n--- stdout\n{p.stdout[-4000:]}"
                             f"\n--- stderr\n{p.stderr[-4000:]}")
    return p


def installed(pkg):
    p = subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Status}", pkg], capture_output=True, text=True)
    return p.returncode == 0 and p.stdout.strip() not in ("", "not-installed", "config-files")


def prerequisites(src):
    if os.geteuid() != 0:
        skip("needs root (dpkg -i)")
    for tool in ("dpkg-buildpackage", "dh", "lintian", "systemd-analyze", "fakeroot"):
        if shutil.which(tool) is None:
            skip(f"{tool} not installed (deploy/install-deps.sh)")
    p = run(["dpkg-checkbuilddeps"], cwd=src, check=False)
    if p.returncode != 0:
        skip(f"build dependencies missing: {p.stderr.strip()}")
    for pkg in PACKAGES:
        if installed(pkg):
            skip(f"package {pkg} is already installed on this machine; not touching it")


def build(src, tmp):
    tree = os.path.join(tmp, "failoverd")
    shutil.copytree(src, tree, ignore=IGNORE, symlinks=True)
    env = dict(os.environ, DEB_BUILD_OPTIONS="parallel=2 noautodbgsym")
    t0 = time.monotonic()
    run(["dpkg-buildpackage", "-b", "-us", "-uc"], cwd=tree, env=env, timeout=900)
    log(f"dpkg-buildpackage -b -us -uc: {time.monotonic() - t0:.1f} s")
    debs = {}
    for pkg in PACKAGES:
        found = [d for d in glob.glob(os.path.join(tmp, f"{pkg}_*.deb"))]
        assert len(found) == 1, f"expected one {pkg}_*.deb in {tmp}, found {found}"
        debs[pkg] = found[0]
    changes = glob.glob(os.path.join(tmp, "failoverd_*.changes"))
    assert len(changes) == 1, f"expected one .changes, found {changes}"
    return debs, changes[0]


def lintian(changes):
    # --fail-on none: the verdict is ours (any E: fails), so that the whole report is
    # always printed first.
    t0 = time.monotonic()
    p = run(["lintian", "--fail-on", "none", "--display-info", changes], check=False, timeout=300)
    out = (p.stdout + p.stderr).strip()
    log("lintian output:" + ("\n" + out if out else " (none)"))
    errors = [l for l in out.splitlines() if l.startswith("E:")]
    warnings = [l for l in out.splitlines() if l.startswith("W:")]
    log(f"lintian: {len(errors)} errors, {len(warnings)} warnings ({time.monotonic() - t0:.1f} s)")
    assert p.returncode == 0, f"lintian itself failed (exit {p.returncode})"
    assert not errors, "lintian errors:\n" + "\n".join(errors)


def check_versions():
    for prog in ("/usr/sbin/failoverd", "/usr/sbin/failover-agent", "/usr/bin/failoverctl"):
        p = run([prog, "--version"])
        name = os.path.basename(prog)
        assert p.stdout.startswith(name + " "), f"{prog} --version printed {p.stdout!r}"
        log(p.stdout.strip())
    helptext = run(["/usr/bin/failoverctl", "--help"]).stdout
    assert "MariaDB 10.11" in helptext and "MySQL 8.0" in helptext, \
        "failoverctl --help does not name the supported and unsupported server versions"


def check_not_started():
    """The postinst created the users and started nothing."""
    for user in ("failoverd", "failover-agent"):
        assert run(["getent", "passwd", user], check=False).returncode == 0, f"system user {user} missing"
    for unit in ("failoverd.service", "failover-agent.service"):
        assert os.path.isfile(f"/lib/systemd/system/{unit}"), f"{unit} not installed"
        wants = glob.glob(f"/etc/systemd/system/*.wants/{unit}")
        assert not wants, f"{unit} was enabled by the package: {wants}"
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
        except OSError:
            continue
        assert exe not in ("/usr/sbin/failoverd", "/usr/sbin/failover-agent"), \
            f"the package started {exe} (pid {pid})"


def check_files():
    conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}\n", *PACKAGES]).stdout
    for f in ("/etc/failoverd/failoverd.conf", "/etc/failover-agent/agent.conf", "/etc/failoverd/failoverctl.conf"):
        assert f in conffiles, f"{f} is not a conffile:\n{conffiles}"
    for page in ("man1/failoverctl.1.gz", "man8/failoverd.8.gz", "man8/failover-agent.8.gz",
                 "man5/failoverd.conf.5.gz", "man5/failover-agent.conf.5.gz"):
        assert os.path.isfile(f"/usr/share/man/{page}"), f"missing /usr/share/man/{page}"
    assert os.path.isfile("/usr/share/bash-completion/completions/failoverctl"), "bash completion missing"
    # The completion script loads in bash and completes a command word.
    script = ("source /usr/share/bash-completion/bash_completion 2>/dev/null; "
              "source /usr/share/bash-completion/completions/failoverctl; "
              "COMP_WORDS=(failoverctl mem); COMP_CWORD=1; COMP_LINE='failoverctl mem'; COMP_POINT=15; "
              "_failoverctl; echo \"${COMPREPLY[*]}\"")
    if os.path.isfile("/usr/share/bash-completion/bash_completion"):
        out = run(["bash", "-c", script]).stdout.split()
        assert out == ["members", "member"] or sorted(out) == ["member", "members"], f"completion gave {out}"


def verify_units():
    units = ["/lib/systemd/system/failoverd.service", "/lib/systemd/system/failover-agent.service"]
    p = run(["systemd-analyze", "verify", *units], check=False)
    out = (p.stdout + p.stderr).strip()
    if p.returncode != 0 and ("Failed to connect" in out or "Failed to initialize manager" in out
                              or "System has not been booted with systemd" in out):
        skip(f"systemd-analyze verify cannot run offline here: {out.splitlines()[0]}")
    log("systemd-analyze verify:" + ("\n" + out if out else " no complaints"))
    assert p.returncode == 0, f"systemd-analyze verify failed:\n{out}"


def files_of(pkgs):
    out = run(["dpkg-query", "-L", *pkgs]).stdout
    return sorted({l for l in out.splitlines() if l.startswith("/")})


def purge_and_check(listed):
    run(["dpkg", "--purge", *PACKAGES])
    left = [f for f in listed if (f.startswith("/usr/") or f.startswith("/etc/failover")) and
            os.path.lexists(f) and not os.path.isdir(f)]
    assert not left, f"left behind after dpkg --purge: {left}"
    for d in ("/etc/failoverd", "/etc/failover-agent"):
        assert not os.path.lexists(d), f"{d} left behind after dpkg --purge: {os.listdir(d)}"
    # Directories the packages created under /usr (not shared ones like /usr/bin).
    ours = [d for d in listed if os.path.basename(d) in ("failoverd", "failover-agent", "failoverctl")
            and d.startswith("/usr/share/doc")]
    left = [d for d in ours if os.path.lexists(d)]
    assert not left, f"directories left behind: {left}"


def main():
    src = os.environ.get("FO_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    prerequisites(src)
    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="fo-deb-")
    installed_now = False
    try:
        debs, changes = build(src, tmp)
        lintian(changes)
        t1 = time.monotonic()
        run(["dpkg", "-i", *[debs[p] for p in PACKAGES]])
        installed_now = True
        log(f"dpkg -i: {time.monotonic() - t1:.1f} s")
        listed = files_of(PACKAGES)
        check_versions()
        check_not_started()
        check_files()
        verify_units()
        t1 = time.monotonic()
        purge_and_check(listed)
        installed_now = False
        log(f"dpkg --purge: {time.monotonic() - t1:.1f} s")
        log(f"PASS ({time.monotonic() - t0:.1f} s)")
    finally:
        if installed_now:
            subprocess.run(["dpkg", "--purge", *PACKAGES], capture_output=True)
        if os.environ.get("FO_KEEP_DEB"):
            log(f"kept {tmp} (FO_KEEP_DEB)")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
