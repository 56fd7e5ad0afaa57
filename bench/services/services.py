#!/usr/bin/env python3
"""bench/services/services.py BUILD_DIR [RUNS]: the catalog's service apps, each measured against a
baseline in the same run.

For nginx, redis, memcached, php and postgres (built from recipes/ into a scratch directory):
  size       bytes of the .arrow (kernel + arrow-init + the app's files) vs the installed size of
             the Debian packages its packed files come from (dpkg's Installed-Size of each owning
             package: a lower bound of what `apt-get install` puts on a disk); the official
             container images' sizes are quoted in README.md with their sources, not measured
  ready      start to the first answer of the app's real protocol from the host (an HTTP GET,
             redis PING, memcached `version`, psql `SELECT 1`), RUNS runs, median: the arrow under
             qemu TCG (`arrow run -d`, a fresh VM each run; asked once it returned) vs the same
             binary, arguments and config started as a host process (the baseline). postgres starts on an empty data
             directory on both sides, so both include creating the cluster.
  wrk        req/s of `wrk -t2 -c16 -d10s` on nginx's page: the nginx arrow vs the same nginx
             binary and config on the host, RUNS rounds alternating, medians
Absolute times are TCG times on this host (its KVM cannot boot Linux); ratios are the result.
"""
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else sys.exit(__doc__))
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARROW = os.path.join(BUILD, "bin", "arrow")
ARROW_BUILD = os.path.join(BUILD, "bin", "arrow-build")
TMP = tempfile.mkdtemp(prefix="arrow-bench-services-")
os.environ["ARROW_STATE_DIR"] = os.path.join(TMP, "state")
PG_PASSWORD = "bench"
READY_LIMIT = 300  # seconds before a start counts as failed


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- the host-side checks: each app's own protocol -------------------------------------------
def http_ok(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=5) as r:
        return r.status == 200


def roundtrip(port, send, want):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(send)
        data = b""
        while want not in data:
            chunk = s.recv(256)
            if not chunk:
                return False
            data += chunk
        return True


def psql_ok(port):
    env = dict(os.environ, PGPASSWORD=PG_PASSWORD, PGCONNECT_TIMEOUT="5")
    r = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "postgres",
                        "-tAc", "SELECT 1"], env=env, capture_output=True, text=True)
    return r.returncode == 0 and r.stdout.strip() == "1"


CHECKS = {
    "nginx": http_ok,
    "php": http_ok,
    "redis": lambda p: roundtrip(p, b"PING\r\n", b"+PONG"),
    "memcached": lambda p: roundtrip(p, b"version\r\n", b"VERSION"),
    "postgres": psql_ok,
}
GUEST_PORT = {"nginx": 80, "php": 80, "redis": 6379, "memcached": 11211, "postgres": 5432}


def wait_until(check, port, proc=None):
    """Seconds until check(port) holds, or None (timeout, or the process died)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < READY_LIMIT:
        if proc is not None and proc.poll() is not None:
            return None
        try:
            if check(port):
                return time.monotonic() - t0
        except OSError:
            pass
        time.sleep(0.01)
    return None


# ---- the native baselines: the recipe's binary, arguments and config as a host process -------
def native_cmd(app, port, work):
    if app == "nginx":
        conf = open(os.path.join(SRC, "recipes/nginx/nginx.conf")).read()
        conf = conf.replace("listen 80 default_server;", "listen 127.0.0.1:%d default_server;" % port)
        conf = conf.replace("pid /run/nginx.pid;", "pid %s/nginx.pid;" % work)
        path = os.path.join(work, "nginx.conf")
        open(path, "w").write(conf)
        return ["/usr/sbin/nginx", "-c", path, "-g", "daemon off;"], {}
    if app == "redis":
        return ["/usr/bin/redis-server", "--bind", "127.0.0.1", "--port", str(port), "--protected-mode", "no",
                "--dir", work, "--daemonize", "no", "--logfile", ""], {}
    if app == "memcached":
        return ["/usr/bin/memcached", "-m", "32", "-p", str(port), "-U", "0", "-l", "127.0.0.1", "-u", "memcache"], {}
    if app == "php":
        return ["/usr/bin/php", "-S", "127.0.0.1:%d" % port, "-t", os.path.join(SRC, "recipes/php")], {"TZ": "UTC"}
    if app == "postgres":  # the recipe's own entrypoint, as the postgres user, on an empty data dir
        data = os.path.join(work, "pg")
        os.makedirs(data)
        shutil.chown(data, "postgres", "postgres")
        os.chmod(TMP, 0o755)  # the postgres user must reach its data dir
        os.chmod(work, 0o755)
        return (["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "/bin/sh",
                 os.path.join(SRC, "recipes/postgres/entrypoint.sh"), "-c", "port=%d" % port,
                 "-c", "listen_addresses=127.0.0.1"],
                {"PGDATA": os.path.join(data, "pgdata"), "POSTGRES_PASSWORD": PG_PASSWORD, "TZ": "UTC"})
    raise ValueError(app)


class Native:
    def __init__(self, app):
        self.port = free_port()
        self.work = tempfile.mkdtemp(dir=TMP, prefix="native-%s-" % app)
        cmd, env = native_cmd(app, self.port, self.work)
        # postgres's entrypoint turns SIGTERM into a fast shutdown only for `arrow stop`; on the
        # host the whole group gets the signal, so send the server's own fast-shutdown signal.
        self.stop_signal = signal.SIGINT if app == "postgres" else signal.SIGTERM
        self.log = open(os.path.join(self.work, "log"), "w")
        self.proc = subprocess.Popen(cmd, env=dict(os.environ, **env), stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)

    def stop(self):
        try:
            os.killpg(self.proc.pid, self.stop_signal)
            self.proc.wait(timeout=30)
        except ProcessLookupError:  # it had exited already (a failed start: its log says why)
            self.proc.wait()
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()
        if self.proc.returncode not in (0, -self.stop_signal):
            print("native %s exited %s; its log:\n%s" % (self.proc.args[0], self.proc.returncode,
                  open(self.log.name).read()[-1500:]), file=sys.stderr)


class Arrow:
    def __init__(self, app, arrow):
        self.port = free_port()
        self.name = "bench-" + app
        args = [ARROW, "run", "-d", "-q", "--vmm", "qemu", "--name", self.name, "--ready-timeout", "%ds" % READY_LIMIT,
                "-p", "127.0.0.1:%d:%d" % (self.port, GUEST_PORT[app])]
        if app == "postgres":
            args += ["--env", "POSTGRES_PASSWORD=" + PG_PASSWORD]
        self.proc = subprocess.Popen(args + [arrow], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL)

    def stop(self):
        self.proc.wait()
        subprocess.run([ARROW, "rm", "-f", self.name], capture_output=True)


def time_ready(start, app):
    """Seconds from start() to the first answer of the app's protocol, or None. An arrow is asked
    once `arrow run -d` returned (its own readiness): a client that connects through the published
    port before the guest's NIC is up waits for user-mode networking's SYN retransmit (about 3 s)."""
    t0 = time.monotonic()
    inst = start()
    if isinstance(inst, Arrow):
        try:
            ok = inst.proc.wait(timeout=READY_LIMIT) == 0
        except subprocess.TimeoutExpired:
            ok = False
        ok = ok and wait_until(CHECKS[app], inst.port) is not None
    else:
        ok = wait_until(CHECKS[app], inst.port, inst.proc) is not None
    elapsed = time.monotonic() - t0
    inst.stop()
    return elapsed if ok else None


# ---- sizes -----------------------------------------------------------------------------------
def debian_packages(listing):
    """The Debian packages owning the packed files of a --list output, and their Installed-Size."""
    paths = []
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] != "dir" and parts[2].startswith("/") and os.path.isfile(parts[2]):
            paths.append(parts[2])
    owners = set()
    for p in paths:
        for candidate in (p, p[4:] if p.startswith("/usr/") else "/usr" + p):  # merged /usr: dpkg knows one name
            r = subprocess.run(["dpkg-query", "-S", candidate], capture_output=True, text=True)
            if r.returncode == 0:
                for line in r.stdout.splitlines():
                    pkgs, _, owned = line.partition(": ")
                    if owned.strip() == candidate:
                        owners.update(x.strip().split(":")[0] for x in pkgs.split(","))
                break
    total = 0
    for pkg in sorted(owners):
        r = subprocess.run(["dpkg-query", "-W", "-f=${Installed-Size}", pkg], capture_output=True, text=True)
        total += int(r.stdout.strip() or 0) * 1024
    return sorted(owners), total


def mb(n):
    return "%.1f MB" % (n / 1e6)


def main():
    apps = ["nginx", "redis", "memcached", "php", "postgres"]
    rows, raw = [], {}
    for app in apps:
        arrow = os.path.join(TMP, app + ".arrow")
        listing = subprocess.run([ARROW_BUILD, os.path.join(SRC, "recipes", app + ".recipe"), "-o", arrow, "--list"],
                                 capture_output=True, text=True, check=True).stdout
        pkgs, pkg_bytes = debian_packages(listing)
        size = os.path.getsize(arrow)
        arrow_t, native_t = [], []
        for _ in range(RUNS):  # alternate, so drift in the host's load hits both sides alike
            native_t.append(time_ready(lambda: Native(app), app))
            arrow_t.append(time_ready(lambda: Arrow(app, arrow), app))
        ok = [t for t in arrow_t if t is not None], [t for t in native_t if t is not None]
        a = statistics.median(ok[0]) if ok[0] else None
        n = statistics.median(ok[1]) if ok[1] else None
        raw[app] = {"arrow_bytes": size, "debian_packages": pkgs, "debian_bytes": pkg_bytes,
                    "ready_arrow_s": arrow_t, "ready_native_s": native_t}
        rows.append((app, size, pkg_bytes, len(pkgs), a, n))
        print("%s: arrow %s, packages %s (%d), ready arrow %s native %s" % (
            app, mb(size), mb(pkg_bytes), len(pkgs), arrow_t, native_t), file=sys.stderr, flush=True)

    # wrk: the nginx arrow vs nginx on the host, both running, RUNS rounds alternating.
    nginx_arrow = os.path.join(TMP, "nginx.arrow")
    native, guest = Native("nginx"), Arrow("nginx", nginx_arrow)
    wait_until(http_ok, native.port, native.proc)
    guest.proc.wait(timeout=READY_LIMIT)
    wait_until(http_ok, guest.port)
    rps = {"arrow": [], "native": []}
    for _ in range(RUNS):
        for side, port in (("native", native.port), ("arrow", guest.port)):
            out = subprocess.run(["wrk", "-t2", "-c16", "-d10s", "http://127.0.0.1:%d/" % port],
                                 capture_output=True, text=True, timeout=60).stdout
            line = [x for x in out.splitlines() if x.startswith("Requests/sec:")]
            rps[side].append(float(line[0].split()[1]) if line else 0.0)
    native.stop()
    guest.stop()
    raw["wrk_nginx_rps"] = rps

    print("\n| app | .arrow | Debian packages it draws from | .arrow / packages | ready: arrow (TCG) | ready: host process | arrow / host |")
    print("|---|---|---|---|---|---|---|")
    for app, size, pkg_bytes, npkg, a, n in rows:
        ratio_t = "%.1f×" % (a / n) if a and n else "failed"
        fmt = lambda t: "%.2f s" % t if t is not None else "failed"
        print("| %s | %s | %s (%d packages) | %.2f | %s | %s | %s |" % (
            app, mb(size), mb(pkg_bytes), npkg, size / pkg_bytes if pkg_bytes else 0, fmt(a), fmt(n), ratio_t))
    ma, mn = statistics.median(rps["arrow"]), statistics.median(rps["native"])
    print("\nwrk -t2 -c16 -d10s, nginx page: arrow (qemu TCG) %.0f req/s, host process %.0f req/s, ratio %.3f (%d rounds)"
          % (ma, mn, ma / mn if mn else 0, RUNS))
    with open(os.path.join(os.getcwd(), "services-bench.json"), "w") as f:
        json.dump(raw, f, indent=1)
    print("raw numbers: services-bench.json")


try:
    main()
finally:
    subprocess.run([ARROW, "rm", "-f"] + ["bench-" + a for a in GUEST_PORT], capture_output=True)
    shutil.rmtree(TMP, ignore_errors=True)
