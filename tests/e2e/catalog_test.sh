#!/usr/bin/env bash
# The catalog under qemu TCG: `arrow catalog` lists the ready apps; `arrow run NAME -d` builds a
# catalog arrow once and reuses it; each service is checked from the host with its real client
# (curl for nginx and php, redis-cli for redis and psql for postgres — each with data kept on a volume
# across a restart —, the text protocol for memcached); a ./NAME.recipe shadows the installed one; names with '/' or ':' are
# registry references, never catalog names.
source "$(dirname "$0")/lib.sh" "$@"
cd "$TMP"
export ARROW_STATE_DIR="$TMP/state" ARROW_CATALOG_CACHE="$TMP/catalog"
A="$ARROW"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

run_capture catalog.out "$A" catalog
for name in nginx redis memcached php postgres sqlite3 python3; do
  grep -qE "^$name +" catalog.out && pass "catalog lists $name" || { fail "catalog lacks $name"; cat catalog.out; }
done
expect_contains "catalog shows ports" catalog.out "6379/tcp"

# nginx: built on the first run, cached for the second.
p=$(free_port)
run_capture ng1.out "$A" run -d --vmm qemu --name web -p "127.0.0.1:$p:80" nginx
expect_eq "nginx: run -d" 0 "$status"
expect_contains "nginx: the first run builds it" ng1.out "arrow: building nginx from $SOURCE_DIR/recipes/nginx.recipe"
page=$(curl -s --max-time 10 "http://127.0.0.1:$p/")
case "$page" in *"<title>Welcome to nginx!</title>"*) pass "nginx: curl gets its page (ready = http)";; *) fail "nginx: page was '$page'"; "$A" logs web | tail -20;; esac
run_capture ps.out "$A" ps
expect_contains "ps shows the catalog name as the image" ps.out "web                   nginx"
run_capture ng.logs "$A" logs web
expect_contains "nginx: its access log (/dev/stdout) is on the console" ng.logs '"GET / HTTP/1.1" 200'

run_capture stop.out "$A" stop web
expect_eq "nginx: stop" 0 "$status"
"$A" rm web >/dev/null
run_capture ng2.out "$A" run -d --vmm qemu --name web2 --net none nginx
expect_eq "nginx: second run" 0 "$status"
if grep -q "arrow: building" ng2.out; then fail "nginx: rebuilt although cached"; else pass "nginx: the second run uses the cached arrow"; fi
"$A" rm -f web2 >/dev/null
[ "$(ls "$ARROW_CATALOG_CACHE" | grep -c '^nginx-.*\.arrow$')" = 1 ] && pass "one cached nginx arrow" || fail "cache: $(ls "$ARROW_CATALOG_CACHE")"

# redis: PING/SET/GET with redis-cli; the data survives a restart on the same volume.
"$A" volume create redis.img --size 16M >/dev/null
p=$(free_port)
run_capture rd1.out "$A" run -d --vmm qemu --name cache -p "127.0.0.1:$p:6379" -v redis.img:/data redis
expect_eq "redis: run -d" 0 "$status"
expect_eq "redis: PING" PONG "$(redis-cli -p "$p" PING)"
expect_eq "redis: SET" OK "$(redis-cli -p "$p" SET greeting hello-arrow)"
expect_eq "redis: GET" hello-arrow "$(redis-cli -p "$p" GET greeting)"
expect_eq "redis: SAVE to the volume" OK "$(redis-cli -p "$p" SAVE)"
"$A" stop cache >/dev/null
"$A" rm cache >/dev/null
p=$(free_port)
run_capture rd2.out "$A" run -d --vmm qemu --name cache -p "127.0.0.1:$p:6379" -v redis.img:/data redis
expect_eq "redis: the value survived a restart on its volume" hello-arrow "$(redis-cli -p "$p" GET greeting)"
run_capture rd.logs "$A" logs cache
expect_contains "redis: runs as the redis user (no root warning)" rd.logs "Ready to accept connections"
"$A" rm -f cache >/dev/null

# postgres: the cluster is created on the first boot of an empty volume with the given password;
# psql creates, inserts and selects; after stop and a new run on the same volume the row is there.
"$A" volume create pg.img --size 256M >/dev/null
p=$(free_port)
run_capture pg1.out "$A" run -d --vmm qemu --name db --ready-timeout 300s -p "127.0.0.1:$p:5432" \
  -v pg.img:/var/lib/postgresql/data --env POSTGRES_PASSWORD=s3cret postgres
expect_eq "postgres: run -d" 0 "$status"
export PGPASSWORD=s3cret PGCONNECT_TIMEOUT=10
psql_q() { psql -h 127.0.0.1 -p "$p" -U postgres -d postgres -tAq -c "$1" 2>&1; }
expect_eq "postgres: psql creates a table" "" "$(psql_q "CREATE TABLE t (id int PRIMARY KEY, v text)")"
expect_eq "postgres: psql inserts" "" "$(psql_q "INSERT INTO t VALUES (1, 'kept on the volume')")"
expect_eq "postgres: psql selects" "kept on the volume" "$(psql_q "SELECT v FROM t WHERE id = 1")"
run_capture pgbad.out env PGPASSWORD=wrong psql -h 127.0.0.1 -p "$p" -U postgres -d postgres -tAc "SELECT 1"
expect_contains "postgres: a wrong password is refused" pgbad.out "password authentication failed"
run_capture pgstop.out "$A" stop db
expect_eq "postgres: stop" 0 "$status"
run_capture pg.logs "$A" logs db
expect_contains "postgres: stop is a clean (fast) shutdown" pg.logs "database system is shut down"
"$A" rm db >/dev/null
p=$(free_port)
run_capture pg2.out "$A" run -d --vmm qemu --name db --ready-timeout 300s -p "127.0.0.1:$p:5432" -v pg.img:/var/lib/postgresql/data postgres
expect_eq "postgres: restarted on the same volume (no password needed now)" 0 "$status"
expect_eq "postgres: the row survived the restart" "kept on the volume" "$(psql_q "SELECT v FROM t WHERE id = 1")"
"$A" rm -f db >/dev/null
unset PGPASSWORD
run_capture pgnopw.out "$A" run --vmm qemu -q --timeout 300s postgres
expect_eq "postgres: an empty data dir without a password fails (the app's exit 1)" 1 "$status"
expect_contains "postgres: says which --env to pass" pgnopw.out "run it with --env POSTGRES_PASSWORD="

# memcached: its text protocol.
p=$(free_port)
run_capture mc.out "$A" run -d --vmm qemu --name mc -p "127.0.0.1:$p:11211" memcached
expect_eq "memcached: run -d" 0 "$status"
reply=$(python3 - "$p" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"set k 0 0 5\r\narrow\r\nget k\r\n")
data = b""
while not data.endswith(b"END\r\n"):
    data += s.recv(256)
print(data.decode().replace("\r\n", "|"))
PY
)
expect_eq "memcached: set and get" "STORED|VALUE k 0 5|arrow|END|" "$reply"
"$A" rm -f mc >/dev/null

# php: the page is rendered (PHP's output, not its source), served by www-data on port 80.
p=$(free_port)
run_capture php.out "$A" run -d --vmm qemu --name php -p "127.0.0.1:$p:80" php
expect_eq "php: run -d" 0 "$status"
curl -s --max-time 10 "http://127.0.0.1:$p/" >php.page || true
expect_contains "php: the page is rendered" php.page "6 * 7 = 42"
if grep -q '<?' php.page; then fail "php: the source was served"; else pass "php: no PHP source in the page"; fi
run_capture php.logs "$A" logs php
if grep -q "Invalid date.timezone" php.logs; then fail "php: timezone warning"; else pass "php: starts without warnings"; fi
"$A" rm -f php >/dev/null

# [verify]: arrow verify on the cached nginx; --verify fails a build whose check is wrong.
run_capture verify.out "$A" verify --vmm qemu "$(ls "$ARROW_CATALOG_CACHE"/nginx-*.arrow)"
expect_eq "verify: the catalog nginx passes" 0 "$status"
expect_contains "verify: names its check" verify.out "verify: PASS http :80/ -> 200, body matches /Welcome to nginx/"
cp -r "$SOURCE_DIR/recipes/nginx" .  # its config, which the recipe maps by a relative path
sed 's|body = "Welcome to nginx"|body = "Goodbye"|' "$SOURCE_DIR/recipes/nginx.recipe" >verify-bad.recipe
run_capture badverify.out "$ARROW_BUILD" verify-bad.recipe -o bad-nginx.arrow --verify
expect_eq "--verify: a wrong expectation fails the build" 1 "$status"
expect_contains "--verify: the failing check is named" badverify.out "verify: FAIL http :80/ -> 200, body does not match /Goodbye/"
[ ! -e bad-nginx.arrow ] && pass "--verify: the failed arrow is not left behind" || fail "--verify: bad-nginx.arrow exists"
printf 'name = "cmd"\n[app]\nexec = "/bin/sh"\nargs = ["-c", "echo hi; exit 3"]\n[verify]\nexit = 0\n' >cmd.recipe
run_capture cmdverify.out "$ARROW_BUILD" cmd.recipe -o cmd.arrow --verify
expect_eq "--verify: a command's wrong exit status fails the build" 1 "$status"
expect_contains "--verify: says which status" cmdverify.out "verify: FAIL exit status 3, want 0"
printf 'name = "plain"\n[app]\nexec = "/bin/sh"\n' >plain.recipe
"$ARROW_BUILD" -q plain.recipe -o plain.arrow
run_capture noverify.out "$A" verify plain.arrow
expect_eq "verify: an arrow without checks is an error (125)" 125 "$status"
expect_contains "verify: says to add them" noverify.out "has no [verify] checks"

# The cache follows the build root: a packed host file replaced with one of the same size (as a
# package upgrade does) makes the next run rebuild the arrow, with the new bytes in it. (The file
# is not read in the guest: $TMP is below /tmp, where arrow-init mounts a fresh tmpfs.)
mkdir -p own
printf 'version-one\n' >"$TMP/own/data.txt"
printf 'name = "owncat"\n[app]\nexec = "/bin/sh"\nargs = ["-c", "echo owncat ran"]\n[files]\ninclude = ["%s"]\n' \
  "$TMP/own/data.txt" >own/owncat.recipe
run_capture own1.out env ARROW_CATALOG="$TMP/own" "$A" run --vmm qemu -q owncat
expect_contains "cache: a catalog recipe of one's own runs" own1.out "owncat ran"
before=$(sha256sum "$ARROW_CATALOG_CACHE"/owncat-*.arrow | cut -d' ' -f1)
run_capture own2.out env ARROW_CATALOG="$TMP/own" "$A" run --vmm qemu owncat
if grep -q "arrow: building" own2.out; then fail "cache: rebuilt with nothing changed"; else pass "cache: reused while its inputs are unchanged"; fi
printf 'version-two\n' >"$TMP/own/data.txt.new" && mv "$TMP/own/data.txt.new" "$TMP/own/data.txt"
run_capture own3.out env ARROW_CATALOG="$TMP/own" "$A" run --vmm qemu owncat
expect_contains "cache: a replaced file of the same size rebuilds it" own3.out "arrow: building owncat"
after=$(sha256sum "$ARROW_CATALOG_CACHE"/owncat-*.arrow | cut -d' ' -f1)
[ -n "$before" ] && [ "$before" != "$after" ] && pass "cache: the rebuilt arrow holds the new bytes" || fail "cache: arrow unchanged ($before)"
[ "$(ls "$ARROW_CATALOG_CACHE" | grep -c '^owncat-.*\.arrow$')" = 1 ] && pass "cache: still one owncat arrow" || fail "cache: $(ls "$ARROW_CATALOG_CACHE")"

# ./nginx.recipe shadows the installed nginx.
mkdir shadow && cd shadow
printf 'name = "nginx"\n[app]\nexec = "/bin/sh"\nargs = ["-c", "echo the shadow nginx"]\n' >nginx.recipe
run_capture ../catalog2.out "$A" catalog
expect_contains "catalog: ./nginx.recipe shadows the installed one" ../catalog2.out "$TMP/shadow/nginx.recipe"
run_capture ../shadow.out "$A" run --vmm qemu -q nginx
expect_contains "run: the shadowing recipe is the one built" ../shadow.out "the shadow nginx"
cd ..
# A name with '/' or ':' is a registry reference, never the catalog.
run_capture ref.out "$A" run --vmm qemu --plain-http 127.0.0.1:9/library/nginx
expect_eq "a registry reference: 125 (nothing listens there)" 125 "$status"
if grep -q "arrow: building" ref.out; then fail "a registry reference was taken from the catalog"; else pass "a registry reference is not a catalog name"; fi
summary
