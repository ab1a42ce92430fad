# Sourced by test.sh: find a PostgreSQL server for the tests, or start a throwaway one.
# Sets CAMPAIGN_TEST_DATABASE_URL on success.

pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

find_or_start_postgres() {
  local bin
  if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432 \
     && psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
    export CAMPAIGN_TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/campaign_test"
    return 0
  fi
  bin=$(pg_bin)
  if [ -z "$bin" ] && [ "${CI:-}" = "true" ]; then
    echo "Installing PostgreSQL (no server answered on 127.0.0.1:5432) ..."
    apt_install postgresql
    bin=$(pg_bin)
  fi
  [ -n "$bin" ] || return 1
  start_throwaway_cluster "$bin"
}

start_throwaway_cluster() {
  local bin="$1" dir port=55432 as=""
  dir=$(mktemp -d /tmp/campaign-pg.XXXXXX)
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$dir"
    as="runuser -u postgres --"
  fi
  $as "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
  $as "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start >/dev/null
  echo "Started a throwaway PostgreSQL cluster in $dir on port $port."
  export CAMPAIGN_TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$port/campaign_test"
  # shellcheck disable=SC2064
  trap "$as '$bin/pg_ctl' -D '$dir/data' -m immediate stop >/dev/null 2>&1; rm -rf '$dir'" EXIT
}
