#!/usr/bin/env bash
# `arrow push` / `arrow pull` against real registries started here: Debian's docker-registry on
# 127.0.0.1 (a free port, storage in $TMP), once open and once behind htpasswd Basic auth.
# Round trip (byte-identical, second push uploads nothing), chunked uploads, the cache, skopeo
# interop in both directions, Bearer tokens (a small token service in python, verified by the
# real registry), and faults: wrong password, tampered blob, malformed JSON (a tiny python stub
# serving a broken manifest), registry stopped mid-pull.
source "$(dirname "$0")/lib.sh"
command -v docker-registry >/dev/null || { echo "FAIL: docker-registry not installed (scripts/install-deps.sh)"; exit 1; }
command -v htpasswd >/dev/null || { echo "FAIL: htpasswd not installed (apache2-utils, scripts/install-deps.sh)"; exit 1; }

trap stop_servers EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
json_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
no_leftovers() {  # no_leftovers WHAT FILE: neither FILE nor its temporary exists
  if [ -e "$2" ]; then fail "$1: output file left behind"; else pass "$1: no output file"; fi
  if ls -a "$(dirname "$2")" | grep -q "^\.$(basename "$2")\.tmp"; then fail "$1: temporary left behind"; else pass "$1: no temporary"; fi
}

# The arrow under test, and its manifest digest as arrow-build wrote it. It carries Debian's
# stock kernel (~8 MiB) so that chunked uploads and a transfer stopped mid-way have bytes to cut.
run_capture "$TMP/build" "$ARROW_BUILD" "$BUILD_DIR/examples/hello/hello.recipe" -o "$TMP/x.arrow" --kernel /vmlinuz
expect_eq "build hello arrow" 0 "$status"
DIGEST=$(tar -xOf "$TMP/x.arrow" index.json | python3 -c 'import json,sys; print(json.load(sys.stdin)["manifests"][0]["digest"])')

PORT=$(free_port)
R="127.0.0.1:$PORT"
start_registry open "$PORT"
OPEN_PID=$REG_PID
export ARROW_CACHE_DIR="$TMP/cache1"

# --- Round trip ---------------------------------------------------------------------------
run_capture "$TMP/push1" "$ARROW" push "$TMP/x.arrow" "$R/app:1" --json
expect_eq "push: exit" 0 "$status"
expect_eq "push: manifest digest = arrow-build's" "$DIGEST" "$(json_field "$TMP/push1" digest)"
expect_eq "push: 3 blobs uploaded" 3 "$(json_field "$TMP/push1" blobs_uploaded)"
SERVED=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$R/v2/app/manifests/1" | sha256sum | cut -d' ' -f1)
expect_eq "registry serves the manifest bytes we pushed" "${DIGEST#sha256:}" "$SERVED"
run_capture "$TMP/push2" "$ARROW" push "$TMP/x.arrow" "$R/app:1" --json
expect_eq "second push: exit" 0 "$status"
expect_eq "second push: nothing uploaded" 0 "$(json_field "$TMP/push2" blobs_uploaded)"
expect_eq "second push: 3 HEAD hits" 3 "$(json_field "$TMP/push2" blobs_skipped)"
expect_eq "second push: 0 bytes" 0 "$(json_field "$TMP/push2" bytes_uploaded)"

run_capture "$TMP/pull1" "$ARROW" pull "$R/app:1" -o "$TMP/pulled.arrow" --json
expect_eq "pull: exit" 0 "$status"
expect_eq "pull: digest" "$DIGEST" "$(json_field "$TMP/pull1" digest)"
expect_eq "pull: 3 blobs downloaded" 3 "$(json_field "$TMP/pull1" blobs_downloaded)"
if cmp -s "$TMP/x.arrow" "$TMP/pulled.arrow"; then pass "pull: .arrow byte-identical to the pushed one"; else fail "pull: .arrow differs"; fi
mkdir -p "$TMP/ex1" "$TMP/ex2"
tar -xf "$TMP/x.arrow" -C "$TMP/ex1"; tar -xf "$TMP/pulled.arrow" -C "$TMP/ex2"
if diff -r "$TMP/ex1" "$TMP/ex2" >/dev/null; then pass "pull: manifest and every blob identical"; else fail "pull: blobs differ"; fi
run_capture "$TMP/pull2" "$ARROW" pull "$R/app:1" -o "$TMP/pulled2.arrow" --json
expect_eq "pull again: everything from the cache" "0 3" "$(json_field "$TMP/pull2" blobs_downloaded) $(json_field "$TMP/pull2" blobs_cached)"
run_capture "$TMP/pull3" "$ARROW" pull "$R/app@$DIGEST" -o "$TMP/bydigest.arrow" -q
expect_eq "pull by digest" 0 "$status"
run_capture "$TMP/inspect" "$ARROW" inspect "$TMP/pulled.arrow"
expect_contains "pulled arrow inspects" "$TMP/inspect" "/usr/bin/hello"

# inspect and run straight from the registry: inspect reads manifest + config only; run pulls
# into the cache and boots; a second run finds every blob in the cache.
run_capture "$TMP/rinspect" "$ARROW" inspect "$R/app:1"
expect_eq "inspect REF: exit" 0 "$status"
expect_contains "inspect REF: manifest digest" "$TMP/rinspect" "manifest   $DIGEST"
expect_contains "inspect REF: entrypoint from the remote config" "$TMP/rinspect" '"/usr/bin/hello"'
ARROW_CACHE_DIR="$TMP/cache-run" run_capture "$TMP/rrun" "$ARROW_RUN" "$R/app:1" --timeout 300
expect_eq "arrow-run REF: app status" 0 "$status"
expect_contains "arrow-run REF: app output" "$TMP/rrun" "Hello from an arrow!"
n_before=$(find "$TMP/cache-run" -type f | wc -l)
ARROW_CACHE_DIR="$TMP/cache-run" run_capture "$TMP/rrun2" "$ARROW_RUN" "$R/app:1" --timeout 300
n_after=$(find "$TMP/cache-run" -type f | wc -l)
expect_eq "arrow-run REF again: app status" 0 "$status"
expect_eq "arrow-run REF again: nothing new in the cache" "$n_before" "$n_after"

# arrow-build --push: build and publish in one step; the pushed digest is the built one.
run_capture "$TMP/bpush" "$ARROW_BUILD" "$BUILD_DIR/examples/hello/hello.recipe" -o "$TMP/bp.arrow" --kernel /vmlinuz --push "$R/built:1"
expect_eq "arrow-build --push: exit" 0 "$status"
expect_contains "arrow-build --push: pushed the built manifest" "$TMP/bpush" "pushed $R/built:1 ($DIGEST)"

# Chunked upload (kernel ~8 MiB in 1 MiB PATCHes), then a pull through an empty cache.
run_capture "$TMP/pushc" "$ARROW" push "$TMP/x.arrow" "$R/chunked:1" --chunk-size 1MiB --json
expect_eq "chunked push: exit" 0 "$status"
CHUNKS=$(json_field "$TMP/pushc" chunks)
if [ "$CHUNKS" -ge 8 ]; then pass "chunked push: $CHUNKS PATCH requests"; else fail "chunked push: $CHUNKS chunks"; fi
ARROW_CACHE_DIR="$TMP/cache2" run_capture "$TMP/pullc" "$ARROW" pull "$R/chunked:1" -o "$TMP/chunked.arrow"
if cmp -s "$TMP/x.arrow" "$TMP/chunked.arrow"; then pass "chunked: pulled byte-identical"; else fail "chunked: differs"; fi

# --- Interop with skopeo --------------------------------------------------------------------
run_capture "$TMP/sk1" skopeo copy --src-tls-verify=false "docker://$R/app:1" "oci-archive:$TMP/sk.tar"
expect_eq "skopeo reads what arrow pushed" 0 "$status"
SKD=$(skopeo inspect --raw "oci-archive:$TMP/sk.tar" | sha256sum | cut -d' ' -f1)
expect_eq "skopeo's copy has the same manifest digest" "${DIGEST#sha256:}" "$SKD"
mkdir -p "$TMP/ex3"; tar -xf "$TMP/sk.tar" -C "$TMP/ex3"
if diff -r "$TMP/ex1/blobs" "$TMP/ex3/blobs" >/dev/null; then pass "skopeo's copy has identical blobs"; else fail "skopeo blobs differ"; fi
run_capture "$TMP/sk2" skopeo copy --dest-tls-verify=false "oci-archive:$TMP/x.arrow" "docker://$R/other:1"
expect_eq "skopeo pushes the arrow" 0 "$status"
ARROW_CACHE_DIR="$TMP/cache3" run_capture "$TMP/pullo" "$ARROW" pull "$R/other:1" -o "$TMP/other.arrow" --json
expect_eq "arrow pulls what skopeo pushed" 0 "$status"
expect_eq "  same digest" "$DIGEST" "$(json_field "$TMP/pullo" digest)"
if cmp -s "$TMP/x.arrow" "$TMP/other.arrow"; then pass "  byte-identical"; else fail "  differs"; fi

# --- Faults -----------------------------------------------------------------------------------
run_capture "$TMP/badref" "$ARROW" pull "$R/App:1" -o "$TMP/none.arrow"
expect_eq "bad reference: exit 2" 2 "$status"
expect_contains "bad reference: message" "$TMP/badref" "path component 'App' must be lowercase"
run_capture "$TMP/notag" "$ARROW" pull "$R/app:nope" -o "$TMP/none.arrow"
expect_eq "unknown tag: exit 1" 1 "$status"
expect_contains "unknown tag: message" "$TMP/notag" "not found (HTTP 404) [MANIFEST_UNKNOWN"
no_leftovers "unknown tag" "$TMP/none.arrow"

# Tampered blob: flip one byte of the kernel in the registry's storage (same size).
KHEX=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print([l["digest"] for l in m["layers"] if l["mediaType"]=="application/vnd.arrow.kernel.v1"][0][7:])' "$TMP/ex1/blobs/sha256/${DIGEST#sha256:}")
KDATA="$TMP/open/storage/docker/registry/v2/blobs/sha256/${KHEX:0:2}/$KHEX/data"
cp "$KDATA" "$TMP/kernel.orig"
python3 -c 'import sys; f=open(sys.argv[1],"r+b"); f.seek(4096); b=f.read(1); f.seek(4096); f.write(bytes([b[0]^0xff]))' "$KDATA"
ARROW_CACHE_DIR="$TMP/cache4" run_capture "$TMP/tamper" "$ARROW" pull "$R/app:1" -o "$TMP/tampered.arrow"
expect_eq "tampered blob: exit 1" 1 "$status"
expect_contains "tampered blob: rejected by digest" "$TMP/tamper" "blob sha256:$KHEX was served with content hashing to"
no_leftovers "tampered blob" "$TMP/tampered.arrow"
if [ -e "$TMP/cache4/blobs/sha256/$KHEX" ] || ls -a "$TMP/cache4/blobs/sha256" | grep -q tmp; then
  fail "tampered blob: kept in the cache"; else pass "tampered blob: not in the cache"; fi
cp "$TMP/kernel.orig" "$KDATA"

# Malformed JSON from a server that speaks the protocol but sends a broken manifest.
SPORT=$(free_port)
cat >"$TMP/stub.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        bodies = {"/v2/": b"{}", "/v2/bad/manifests/1": b'{"schemaVersion": 2, "layers": [',
                  "/v2/types/manifests/1": b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.arrow.image.v1","config":{"mediaType":"application/vnd.arrow.config.v1+json","digest":"sha256:../../../etc/passwd","size":"big"},"layers":7}'}
        body = bodies.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
python3 "$TMP/stub.py" "$SPORT" &
PIDS+=("$!")
wait_http "http://127.0.0.1:$SPORT/v2/"
run_capture "$TMP/malformed" "$ARROW" pull "127.0.0.1:$SPORT/bad:1" -o "$TMP/malformed.arrow"
expect_eq "malformed JSON: exit 1" 1 "$status"
expect_contains "malformed JSON: message" "$TMP/malformed" "malformed JSON from the registry"
no_leftovers "malformed JSON" "$TMP/malformed.arrow"
run_capture "$TMP/types" "$ARROW" pull "127.0.0.1:$SPORT/types:1" -o "$TMP/types.arrow"
expect_eq "wrong JSON types: exit 1" 1 "$status"
expect_contains "wrong JSON types: message" "$TMP/types" "descriptor lacks a non-negative integer size"

# --- Basic auth (htpasswd) --------------------------------------------------------------------
htpasswd -Bbn alice s3cret >"$TMP/htpasswd"
APORT=$(free_port)
A="127.0.0.1:$APORT"
start_registry auth "$APORT" "$TMP/htpasswd"
export DOCKER_CONFIG="$TMP/docker"   # empty: no credentials unless a test provides them
run_capture "$TMP/anon" "$ARROW" push "$TMP/x.arrow" "$A/app:1"
expect_eq "auth: no credentials: exit 1" 1 "$status"
expect_contains "auth: no credentials: message" "$TMP/anon" "registry $A, repository app: authentication required (HTTP 401); no credentials found for $A; set ARROW_REGISTRY_USERNAME"
ARROW_REGISTRY_USERNAME=alice ARROW_REGISTRY_PASSWORD=wrong run_capture "$TMP/wrong" "$ARROW" push "$TMP/x.arrow" "$A/app:1"
expect_eq "auth: wrong password: exit 1" 1 "$status"
expect_contains "auth: wrong password: message" "$TMP/wrong" "the credentials from ARROW_REGISTRY_USERNAME/ARROW_REGISTRY_PASSWORD were rejected (HTTP 401)"
ARROW_REGISTRY_USERNAME=alice ARROW_REGISTRY_PASSWORD=s3cret run_capture "$TMP/authpush" "$ARROW" push "$TMP/x.arrow" "$A/app:1" --json
expect_eq "auth: push with env credentials" 0 "$status"
mkdir -p "$DOCKER_CONFIG"
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$A" "$(printf alice:s3cret | base64)" >"$DOCKER_CONFIG/config.json"
ARROW_CACHE_DIR="$TMP/cache5" run_capture "$TMP/authpull" "$ARROW" pull "$A/app:1" -o "$TMP/auth.arrow"
expect_eq "auth: pull with ~/.docker/config.json credentials" 0 "$status"
if cmp -s "$TMP/x.arrow" "$TMP/auth.arrow"; then pass "auth: pulled byte-identical"; else fail "auth: differs"; fi
printf '{"auths":{"%s":{"username":"alice","password":"nope"}}}\n' "$A" >"$DOCKER_CONFIG/config.json"
ARROW_CACHE_DIR="$TMP/cache6" run_capture "$TMP/authbad" "$ARROW" pull "$A/app:1" -o "$TMP/authbad.arrow"
expect_eq "auth: wrong password in config.json: exit 1" 1 "$status"
expect_contains "auth: names the config file" "$TMP/authbad" "credentials from $DOCKER_CONFIG/config.json were rejected"
no_leftovers "auth: wrong password" "$TMP/authbad.arrow"
unset DOCKER_CONFIG

# --- Bearer token flow: the registry delegates to a token service (a small Docker-style one here:
# checks Basic credentials, signs an RS256 JWT with openssl; the real registry verifies it).
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/tok.key" -out "$TMP/tok.crt" -days 2 \
  -subj /CN=arrow-test-token 2>/dev/null
cat >"$TMP/token_server.py" <<'PY'
# A Docker-style token service for the Bearer-auth test: checks Basic credentials (alice:s3cret)
# and issues an RS256 JWT (signed with `openssl dgst`, cert in the x5c header) granting the
# requested repository scope. The registry verifies it against its rootcertbundle.
import base64, http.server, json, subprocess, sys, time, urllib.parse

port, key, cert, issuer = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"], capture_output=True, check=True).stdout

def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(url.query)
        auth = self.headers.get("Authorization", "")
        if auth != "Basic " + base64.b64encode(b"alice:s3cret").decode():
            self.send_response(401); self.send_header("Content-Length", "0"); self.end_headers(); return
        access = []
        for scope in q.get("scope", []):
            typ, name, actions = scope.split(":")
            access.append({"type": typ, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
        claims = {"iss": issuer, "sub": "alice", "aud": q.get("service", [""])[0], "exp": now + 300,
                  "nbf": now - 10, "iat": now, "jti": str(now), "access": access}
        signing_input = (b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())).encode()
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing_input,
                             capture_output=True, check=True).stdout
        body = json.dumps({"token": signing_input.decode() + "." + b64(sig), "expires_in": 300}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass

http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
TPORT=$(free_port)
python3 "$TMP/token_server.py" "$TPORT" "$TMP/tok.key" "$TMP/tok.crt" arrow-test-issuer &
PIDS+=("$!")
wait_http "http://127.0.0.1:$TPORT/token"
BPORT=$(free_port)
B="127.0.0.1:$BPORT"
start_registry bearer "$BPORT" "" "auth:
  token:
    realm: http://127.0.0.1:$TPORT/token
    service: arrow-test-registry
    issuer: arrow-test-issuer
    rootcertbundle: $TMP/tok.crt"
export ARROW_REGISTRY_USERNAME=alice
ARROW_REGISTRY_PASSWORD=s3cret run_capture "$TMP/bpush" "$ARROW" push "$TMP/x.arrow" "$B/app:1" --json
expect_eq "bearer: push with a token" 0 "$status"
ARROW_REGISTRY_PASSWORD=s3cret ARROW_CACHE_DIR="$TMP/cache8" run_capture "$TMP/bpull" "$ARROW" pull "$B/app:1" -o "$TMP/bearer.arrow"
expect_eq "bearer: pull with a token" 0 "$status"
if cmp -s "$TMP/x.arrow" "$TMP/bearer.arrow"; then pass "bearer: pulled byte-identical"; else fail "bearer: differs"; fi
ARROW_REGISTRY_PASSWORD=wrong run_capture "$TMP/bwrong" "$ARROW" pull "$B/app:1" -o "$TMP/bwrong.arrow"
expect_eq "bearer: wrong password: exit 1" 1 "$status"
expect_contains "bearer: wrong password: message" "$TMP/bwrong" "the token service http://127.0.0.1:$TPORT/token rejected the credentials"
no_leftovers "bearer: wrong password" "$TMP/bwrong.arrow"
unset ARROW_REGISTRY_USERNAME

# --- Registry stopped mid-pull: bounded retries, clear error, nothing written -----------------
ARROW_CACHE_DIR="$TMP/cache7" "$ARROW" pull "$R/app:1" -o "$TMP/midway.arrow" --limit-rate 1MiB --retries 2 >"$TMP/midway" 2>&1 &
PULL_PID=$!
sleep 2
kill "$OPEN_PID"
set +e; wait "$PULL_PID"; status=$?; set -e
expect_eq "registry stopped mid-pull: exit 1" 1 "$status"
expect_contains "registry stopped: clear error" "$TMP/midway" "cannot reach registry $R, repository app"
expect_contains "registry stopped: bounded retries" "$TMP/midway" "(after 3 attempts); is the registry running and reachable?"
no_leftovers "registry stopped" "$TMP/midway.arrow"
if ls -a "$TMP/cache7/blobs/sha256" 2>/dev/null | grep -q tmp; then fail "registry stopped: temp blob in cache"; else pass "registry stopped: no temp blob in cache"; fi

for f in anon wrong tamper malformed types midway notag authbad bwrong; do echo "== $f"; cat "$TMP/$f"; done
summary
