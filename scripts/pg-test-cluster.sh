# A throwaway PostgreSQL cluster on loopback for the test suite.
#   source scripts/pg-test-cluster.sh start   -> exports TOKEND_TEST_DATABASE_URL
#   bash scripts/pg-test-cluster.sh stop
# Uses Debian's PostgreSQL binaries (apt-get install postgresql), runs as the `postgres` user when
# started by root, keeps its data in a temp dir, and listens only on 127.0.0.1.
_pg_cmd="${1:-start}"
_pg_port="${TOKEND_TEST_PG_PORT:-55432}"
_pg_dir="${TOKEND_TEST_PG_DIR:-/tmp/tokend-pg-test}"
_pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"

_pg_as() {
  # runuser lives in /usr/sbin, which a root shell's PATH may lack: call it by its path then.
  if [ "$(id -u)" = 0 ]; then "$(command -v runuser || echo /usr/sbin/runuser)" -u postgres -- "$@"; else "$@"; fi
}

case "$_pg_cmd" in
  start)
    if [ -z "$_pg_bin" ]; then
      echo "PostgreSQL is not installed (apt-get install postgresql); tests needing it will fail" >&2
      return 1 2>/dev/null || exit 1
    fi
    if ! _pg_as "$_pg_bin/pg_ctl" -D "$_pg_dir" status >/dev/null 2>&1; then
      # Never wipe the directory of a server that is still running (status can fail for other reasons).
      if [ -f "$_pg_dir/postmaster.pid" ] && kill -0 "$(head -n 1 "$_pg_dir/postmaster.pid")" 2>/dev/null; then
        echo "a PostgreSQL server is running in $_pg_dir but pg_ctl cannot reach it; not touching it" >&2
        return 1 2>/dev/null || exit 1
      fi
      rm -rf "$_pg_dir"
      mkdir -p "$_pg_dir"
      [ "$(id -u)" = 0 ] && chown postgres:postgres "$_pg_dir"
      _pg_as "$_pg_bin/initdb" -D "$_pg_dir" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
      _pg_as "$_pg_bin/pg_ctl" -D "$_pg_dir" -l "$_pg_dir/server.log" -w \
        -o "-p $_pg_port -c listen_addresses=127.0.0.1 -k $_pg_dir -c max_connections=300 -c fsync=on" start >/dev/null
    fi
    export TOKEND_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$_pg_port/postgres"
    export TOKEND_TEST_PG_BIN="$_pg_bin"
    export TOKEND_TEST_PG_DIR="$_pg_dir"
    echo "PostgreSQL test cluster on 127.0.0.1:$_pg_port ($_pg_dir)"
    ;;
  stop)
    [ -n "$_pg_bin" ] && _pg_as "$_pg_bin/pg_ctl" -D "$_pg_dir" -m fast stop >/dev/null 2>&1 || true
    ;;
esac
