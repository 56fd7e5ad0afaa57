# Shared by the network benchmarks: the server arrow they measure. build_server_arrow BUILD_DIR
# DIR builds DIR/server.arrow: tests/e2e/httpd.c on the tuned kernel with `net` (from
# `[app] ports`), serving a 16 MB file (big.bin) and a 1 KB one (small.bin) from /srv.
build_server_arrow() {
  local build=$1 dir=$2 src
  src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  gcc -O2 -o "$dir/httpd" "$src/tests/e2e/httpd.c"
  head -c 16000000 /dev/urandom >"$dir/big.bin"
  head -c 1024 /dev/urandom >"$dir/small.bin"
  cat >"$dir/server.recipe" <<'R'
name = "server"
[app]
exec = "/usr/bin/httpd"
ports = [80]
[files]
map = { "/usr/bin/httpd" = "httpd", "/srv/big.bin" = "big.bin", "/srv/small.bin" = "small.bin" }
R
  "$build/bin/arrow-build" -q "$dir/server.recipe" -o "$dir/server.arrow"
}
