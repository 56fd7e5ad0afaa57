#!/usr/bin/env python3
"""bench/trace/trace.py BUILD_DIR [RUNS] [APP...]: static-only vs `arrow-build --trace`, same run.

For python3 and perl (command apps: the catalog recipes' own args) and the catalog's servers
(nginx, php, redis, memcached, postgres), each recipe is built both ways into a scratch directory:
  files       packed regular files and their bytes (arrow inspect)
  layers      the initramfs and (for large apps) the EROFS root layer, compressed; the .arrow
  build       wall time of the build (the traced one includes building and booting the trace image)
  output      command apps: start of `arrow-run -q --vmm qemu` to its exit, RUNS runs alternating
              static/traced, medians; the two outputs must be identical
  ready       servers: start of `arrow run -d` to the first answer of the app's protocol from the
              host (HTTP GET, redis PING, memcached `version`, psql `SELECT 1`), asked once it
              returned (the app's [app] ready held), RUNS runs alternating, medians
Absolute times are qemu TCG times on this host (its KVM cannot boot Linux); ratios are the result.
Prints a Markdown table and writes the raw figures as JSON to stdout's last line.
"""
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else sys.exit(__doc__))
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
ONLY = sys.argv[3:]
SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARROW = os.path.join(BUILD, "bin", "arrow")
ARROW_BUILD = os.path.join(BUILD, "bin", "arrow-build")
ARROW_RUN = os.path.join(BUILD, "bin", "arrow-run")
TMP = tempfile.mkdtemp(prefix="arrow-bench-trace-")
os.environ["ARROW_STATE_DIR"] = os.path.join(TMP, "state")

APPS = ["python3", "perl", "nginx", "php", "redis", "memcached", "postgres"]
PORT = {"nginx": 80, "php": 80, "redis": 6379, "memcached": 11211, "postgres": 5432}
ENV = {"postgres": ["--env", "POSTGRES_PASSWORD=bench"]}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answer(app, port):
    try:
        if app == "postgres":
            env = dict(os.environ, PGPASSWORD="bench", PGCONNECT_TIMEOUT="5")
            r = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "postgres",
                                "-tAc", "SELECT 1"], env=env, capture_output=True, text=True)
            return r.returncode == 0 and r.stdout.strip() == "1"
        if app in ("nginx", "php"):
            with urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=5) as r:
                return r.status == 200
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"PING\r\n" if app == "redis" else b"version\r\n")
            return s.recv(64).startswith(b"+PONG" if app == "redis" else b"VERSION")
    except OSError:
        return False


def build(app, traced):
    out = os.path.join(TMP, "%s-%s.arrow" % (app, "traced" if traced else "static"))
    cmd = [ARROW_BUILD, os.path.join(SRC, "recipes", app + ".recipe"), "-o", out, "-q"]
    if traced:
        cmd += ["--trace", "--vmm", "qemu"]
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    secs = time.monotonic() - t0
    j = json.loads(subprocess.run([ARROW, "inspect", out, "--json"], check=True, capture_output=True).stdout)
    files = [f for f in j["config"]["files"] if f["type"] == "file"]
    layer = lambda kind: sum(l["size"] for l in j["layers"] if kind in l["mediaType"])
    return {"arrow": out, "build_s": secs, "files": len(files), "file_bytes": sum(f["size"] for f in files),
            "initramfs": layer("initramfs"), "rootfs": layer("rootfs"), "arrow_bytes": os.path.getsize(out)}


def run_cmd(arrow):
    t0 = time.monotonic()
    r = subprocess.run([ARROW_RUN, "-q", "--vmm", "qemu", arrow], capture_output=True, timeout=600)
    return time.monotonic() - t0, r.returncode, r.stdout + r.stderr


def run_server(app, arrow, i):
    port, name = free_port(), "bench-%s-%d" % (app, i)
    t0 = time.monotonic()
    r = subprocess.run([ARROW, "run", "-d", "-q", "--vmm", "qemu", "--name", name, "--ready-timeout", "300s",
                        "-p", "127.0.0.1:%d:%d" % (port, PORT[app])] + ENV.get(app, []) + [arrow],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    secs = None
    while r.returncode == 0 and time.monotonic() - t0 < 300:
        if answer(app, port):
            secs = time.monotonic() - t0
            break
        time.sleep(0.02)
    subprocess.run([ARROW, "rm", "-f", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return secs


def mib(b):
    return "%.1f MiB" % (b / 1048576) if b else "-"


def main():
    rows, raw = [], {}
    for app in ONLY or APPS:
        s, t = build(app, False), build(app, True)
        times = {"static": [], "traced": []}
        same = True
        for i in range(RUNS):
            for kind, b in (("static", s), ("traced", t)):
                if app in PORT:
                    times[kind].append(run_server(app, b["arrow"], i))
                else:
                    secs, code, out = run_cmd(b["arrow"])
                    times[kind].append(secs if code == 0 else None)
                    b.setdefault("out", out)
                    same &= out == b["out"]
        if app not in PORT:
            same &= s["out"] == t["out"]
        med = {k: statistics.median(v) if v and None not in v else None for k, v in times.items()}
        raw[app] = {"static": {k: v for k, v in s.items() if k != "out"}, "traced": {k: v for k, v in t.items() if k != "out"},
                    "times": times, "median": med, "same_output": same if app not in PORT else None}
        for kind, b in (("static", s), ("traced", t)):
            m = med[kind]
            ratio = "" if kind == "static" or not m or not med["static"] else " (%.2fx)" % (med["static"] / m)
            rows.append("| %s | %s | %d | %s | %s | %s | %s | %.0f s | %s%s |" % (
                app, kind, b["files"], mib(b["file_bytes"]), "%.2f MB (%s)" % (b["initramfs"] / 1e6, mib(b["initramfs"])),
                mib(b["rootfs"]), mib(b["arrow_bytes"]), b["build_s"],
                "%.2f s" % m if m else "failed", ratio))
        if app not in PORT and not same:
            rows.append("| %s | | outputs differ | | | | | | |" % app)
    print("| app | build | files | file bytes | initramfs | root layer | .arrow | build time | %s |" %
          ("boot to output / ready (median of %d)" % RUNS))
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(json.dumps(raw))


if __name__ == "__main__":
    main()
