"""A small HTTP service on Python's standard library, packaged as an arrow (see app.recipe).

GET /         a greeting; with REDIS_ADDR=HOST:PORT set, also a visit counter kept in Redis
GET /healthz  "ok" (the recipe's readiness probe)
"""
import json
import os
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(os.environ.get("PORT", "8000"))
REDIS_ADDR = os.environ.get("REDIS_ADDR", "")


def redis_incr(key):
    """INCR over Redis's wire protocol (RESP); returns the new value."""
    host, _, port = REDIS_ADDR.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(b"*2\r\n$4\r\nINCR\r\n$%d\r\n%s\r\n" % (len(key), key))
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = s.recv(64)
            if not chunk:
                break
            reply += chunk
    if not reply.startswith(b":"):
        raise RuntimeError("redis: " + reply.decode(errors="replace").strip())
    return int(reply[1:])


class Handler(BaseHTTPRequestHandler):
    def send_text(self, status, body, ctype="text/plain; charset=utf-8"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/healthz":
            return self.send_text(200, "ok\n")
        if self.path != "/":
            return self.send_text(404, "not found\n")
        reply = {"hello": "from Python in an arrow", "python": sys.version.split()[0]}
        if REDIS_ADDR:
            try:
                reply["visits"] = redis_incr(b"visits")
            except (OSError, RuntimeError, ValueError) as e:
                return self.send_text(502, "redis at %s: %s\n" % (REDIS_ADDR, e))
        self.send_text(200, json.dumps(reply) + "\n", "application/json")


if __name__ == "__main__":
    server = ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
    print("python-web: listening on :%d%s" % (PORT, ", counting visits in redis at " + REDIS_ADDR if REDIS_ADDR else ""), flush=True)
    server.serve_forever()
