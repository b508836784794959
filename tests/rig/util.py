"""Shared pieces of the rig: failures, skips, polling with a deadline, child processes
stopped by pid, and clean-up that runs even when a test fails or is terminated.

A skip is not a pass (STYLE.md §19): a test whose prerequisite is missing (no
mariadbd, no network namespaces, no promtool) exits SKIP_EXIT (77), which ctest
reports as skipped (SKIP_RETURN_CODE in CMakeLists.txt) and tests/run.sh turns into a
failure in CI. Missing prerequisites raise MissingPrerequisite (run_test exits 77);
a test that can check everything else calls skip_part() for the one check it cannot
make, and then ends with 77 too, however well the rest went.

Every process the rig starts is a `Proc`. Unless started detached (quickstart), a
child gets PR_SET_PDEATHSIG=SIGTERM, so it is stopped even if the Python process
running the test is killed with SIGKILL (e.g. by a ctest timeout). SIGTERM and SIGHUP
sent to the test turn into SystemExit, so `finally` blocks and atexit hooks run."""

import atexit
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time


class RigError(Exception):
    """The rig could not do what was asked (a server did not start, a port is taken...)."""


class TestFailure(AssertionError):
    """Something the test asserts did not hold."""


class NotYet(Exception):
    """Raised by a wait_for predicate to say why the condition does not hold yet."""


# The exit code of a skipped test: ctest's SKIP_RETURN_CODE (CMakeLists.txt).
SKIP_EXIT = 77


class MissingPrerequisite(RigError):
    """A program or a permission the test needs is not available here (mariadbd not
    installed, network namespaces not permitted...): run_test reports a skip (exit 77),
    never a pass and never a failure of the code under test. A RigError, so that the
    rig's command-line tools report it like any other reason they cannot run."""


_skipped_parts = []


def skip_part(what):
    """Records that one check of the test could not be made (e.g. promtool is not
    installed): the test goes on, and run_test then exits SKIP_EXIT, not 0, even if
    every other check passed."""
    _skipped_parts.append(what)
    print(f"SKIP (part): {what}", flush=True)


_T0 = time.monotonic()


def step(msg):
    """Progress line with the time since the test started."""
    print(f"[{time.monotonic() - _T0:7.2f}s] {msg}", flush=True)


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


# Exceptions a predicate may raise while the system is still converging: they are
# recorded as the reason and polling goes on until the deadline.
_TRANSIENT = (NotYet, RigError, OSError, ValueError, KeyError, TypeError, IndexError)


def wait_for(predicate, timeout, what, interval=0.05):
    """Calls predicate() until it returns a truthy value (which is returned) or the
    deadline passes (TestFailure naming `what` and the last reason seen)."""
    deadline = time.monotonic() + timeout
    last = "never evaluated"
    while True:
        try:
            v = predicate()
            if v:
                return v
            last = f"condition returned {v!r}"
        except MissingPrerequisite:
            raise  # no amount of waiting installs a program
        except _TRANSIENT as e:
            last = f"{type(e).__name__}: {e}" if not isinstance(e, NotYet) else str(e)
        if time.monotonic() >= deadline:
            raise TestFailure(f"timed out after {timeout:g}s waiting for {what} (last: {last})")
        time.sleep(interval)


def tail(path, n=40):
    """Last n lines of a text file, or a note saying why there are none."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read().decode("utf-8", "replace")
    except OSError as e:
        return f"(cannot read {path}: {e})"
    lines = data.splitlines()[-n:]
    return "\n".join(lines) if lines else "(empty)"


def port_free(port, host="127.0.0.1"):
    # SO_REUSEADDR as servers use it: connections in TIME_WAIT from a previous
    # incarnation do not make the port busy, a listening socket does.
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def require_ports_free(ports, what, wait=5.0):
    """Fails unless every port can be bound. Waits up to `wait` seconds first: a port
    inside the kernel's ephemeral range (ip_local_port_range, usually 32768-60999)
    can be held for a moment as the local end of some outgoing connection. Tests use
    ports below that range for this reason."""
    deadline = time.monotonic() + wait
    while True:
        busy = [p for p in ports if not port_free(p)]
        if not busy or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    if busy:
        raise RigError(f"{what}: port(s) {', '.join(map(str, busy))} on 127.0.0.1 already in use")


# ---------------------------------------------------------------- clean-up

_cleanups = []
_handlers_installed = False


def register_cleanup(fn):
    """fn() runs at exit (reverse order of registration) unless unregistered first."""
    _cleanups.append(fn)


def unregister_cleanup(fn):
    try:
        _cleanups.remove(fn)
    except ValueError:
        pass


def _run_cleanups():
    while _cleanups:
        fn = _cleanups.pop()
        try:
            fn()
        except BaseException as e:  # noqa: BLE001 - clean-up must go on
            print(f"rig: clean-up {fn!r} failed: {e}", file=sys.stderr, flush=True)


atexit.register(_run_cleanups)


def _on_signal(signum, frame):
    raise SystemExit(128 + signum)


def install_signal_handlers():
    """SIGTERM/SIGHUP -> SystemExit, so finally blocks and atexit clean-up run."""
    global _handlers_installed
    if _handlers_installed:
        return
    try:
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, _on_signal)
    except ValueError:  # not the main thread
        return
    _handlers_installed = True


# ---------------------------------------------------------------- processes

_PR_SET_PDEATHSIG = 1
try:
    _libc = ctypes.CDLL(None, use_errno=True)
except OSError:
    _libc = None


def _child_setup(parent_pid):
    def fn():
        # Runs in the child between fork and exec: ask the kernel to SIGTERM us when
        # the parent dies, and close the race where it died before we asked.
        if _libc is not None:
            _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent_pid:
            os._exit(1)
    return fn


def pid_alive(pid):
    """True if pid exists and is not a zombie (works for children and non-children)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return False


def pid_cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return ""


def stop_foreign_pid(pid, marker, timeout=60.0):
    """Stops a process that is not our child (recorded in a state file): only if its
    command line contains `marker` (guards against pid reuse). SIGTERM, wait with a
    deadline, then SIGKILL. Returns a short description of what happened."""
    if not pid_alive(pid):
        return "not running"
    if marker not in pid_cmdline(pid):
        return f"pid {pid} is now another program; left alone"
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return "stopped"
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.05)
    return "killed (did not stop within %gs of SIGTERM)" % timeout


class Proc:
    """One child process, with its output appended to log_path."""

    def __init__(self, name, argv, log_path, detach=False, env=None, cwd=None):
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.detach = detach
        self.env = env
        self.cwd = cwd
        self.popen = None
        self.returncode = None

    @property
    def pid(self):
        return self.popen.pid if self.popen else None

    def start(self):
        if self.alive():
            raise RigError(f"{self.name} already running (pid {self.pid})")
        install_signal_handlers()
        with open(self.log_path, "ab") as log:
            log.write(f"---- rig: starting {' '.join(self.argv)}\n".encode())
            log.flush()
            self.popen = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, env=self.env, cwd=self.cwd, close_fds=True,
                preexec_fn=None if self.detach else _child_setup(os.getpid()))
        self.returncode = None
        return self

    def alive(self):
        if self.popen is None:
            return False
        rc = self.popen.poll()
        if rc is not None:
            self.returncode = rc
            return False
        return True

    def wait(self, timeout):
        """Returns the exit code, or None if still running after timeout seconds."""
        if self.popen is None:
            return self.returncode
        try:
            self.returncode = self.popen.wait(timeout=timeout)
            return self.returncode
        except subprocess.TimeoutExpired:
            return None

    def signal(self, sig):
        if self.alive():
            os.kill(self.popen.pid, sig)

    def stop(self, timeout=60.0):
        """SIGTERM, wait up to timeout, then SIGKILL. Returns the exit code."""
        if not self.alive():
            return self.returncode
        self.signal(signal.SIGTERM)
        rc = self.wait(timeout)
        if rc is None:
            print(f"rig: {self.name} (pid {self.pid}) ignored SIGTERM for {timeout:g}s; SIGKILL",
                  file=sys.stderr, flush=True)
            self.signal(signal.SIGKILL)
            rc = self.wait(30)
        return rc

    def kill9(self):
        if not self.alive():
            return self.returncode
        self.signal(signal.SIGKILL)
        return self.wait(30)

    def describe_exit(self):
        rc = self.returncode
        if rc is None:
            return "running"
        if rc < 0:
            try:
                return f"killed by {signal.Signals(-rc).name}"
            except ValueError:
                return f"killed by signal {-rc}"
        return f"exited with status {rc}"


def stop_all(procs, timeout=60.0):
    """SIGTERM every running proc at once, then wait for each (SIGKILL after timeout)."""
    running = [p for p in procs if p is not None and p.alive()]
    for p in running:
        try:
            p.signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    for p in running:
        if p.wait(max(0.0, deadline - time.monotonic())) is None:
            print(f"rig: {p.name} (pid {p.pid}) ignored SIGTERM; SIGKILL", file=sys.stderr, flush=True)
            p.kill9()


# ---------------------------------------------------------------- test entry point

def run_test(main):
    """Runs main() and returns the process exit code: 0 pass, 1 fail, SKIP_EXIT (77)
    when a prerequisite is missing (MissingPrerequisite, or a skip_part() in a test
    that otherwise passed). Rigs used as context managers print their log tails and
    tear down before this reports."""
    install_signal_handlers()
    name = os.path.basename(sys.argv[0])
    t0 = time.monotonic()
    try:
        main()
    except TestFailure as e:
        print(f"FAIL {name}: {e}", flush=True)
        return 1
    except MissingPrerequisite as e:
        print(f"SKIP {name}: {e}", flush=True)
        return SKIP_EXIT
    except RigError as e:
        print(f"FAIL {name}: rig error: {e}", flush=True)
        return 1
    except SystemExit as e:
        print(f"FAIL {name}: interrupted (exit {e.code})", flush=True)
        return 1 if not isinstance(e.code, int) or e.code == 0 else e.code
    except KeyboardInterrupt:
        print(f"FAIL {name}: interrupted", flush=True)
        return 130
    except Exception:  # noqa: BLE001 - a bug in the test is a failure too
        import traceback
        traceback.print_exc()
        print(f"FAIL {name}: unexpected exception (see traceback above)", flush=True)
        return 1
    if _skipped_parts:
        print(f"SKIP {name} ({time.monotonic() - t0:.1f}s): the rest passed, but not checked: "
              f"{'; '.join(_skipped_parts)}", flush=True)
        return SKIP_EXIT
    print(f"PASS {name} ({time.monotonic() - t0:.1f}s)", flush=True)
    return 0
