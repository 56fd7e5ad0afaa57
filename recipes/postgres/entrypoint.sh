#!/bin/sh
# PostgreSQL in an arrow. On the first boot of an empty data volume it creates the cluster
# (superuser "postgres", password from POSTGRES_PASSWORD, password logins from the network), then
# runs the server in the foreground. `arrow stop` sends SIGTERM; the server gets SIGINT for a fast
# shutdown (connected clients do not hold it up), and its exit status is the arrow's.
# Only shell builtins are used: the image holds no coreutils.
set -eu
bin=/usr/lib/postgresql/15/bin
PGDATA=${PGDATA:-/var/lib/postgresql/data/pgdata}
export PGDATA

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
    echo "postgres: the data directory $PGDATA is empty and no superuser password is set." >&2
    echo "postgres: run it with --env POSTGRES_PASSWORD=SECRET (or --env POSTGRES_HOST_AUTH_METHOD=trust)" >&2
    exit 1
  fi
  umask 077
  echo "postgres: creating the cluster in $PGDATA"
  # The password reaches initdb on a pipe, never in a file or on a command line.
  printf '%s\n' "${POSTGRES_PASSWORD:-}" |
    "$bin/initdb" -D "$PGDATA" -U postgres --pwfile=/proc/self/fd/0 \
      --auth-local=trust --auth-host="$auth" --locale=C --encoding=UTF8 >/dev/null
  printf 'host all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"
fi

trap 'kill -INT "$pid" 2>/dev/null || true' TERM INT
"$bin/postgres" -D "$PGDATA" -c listen_addresses="*" -c unix_socket_directories=/run/postgresql "$@" &
pid=$!
status=0
wait "$pid" || status=$?
# A trapped signal ends `wait` early: wait again for the server's own exit.
while kill -0 "$pid" 2>/dev/null; do
  status=0
  wait "$pid" || status=$?
done
exit "$status"
