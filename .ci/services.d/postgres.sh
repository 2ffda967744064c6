# PostgreSQL for palisade-postgres's integration tests (sourced by .ci/services).
# Uses whatever answers on 127.0.0.1:5432 (it must accept the superuser
# `postgres` without a password, as Debian's default local trust does);
# otherwise starts a throwaway cluster there (PostgreSQL installed from
# Debian's packages when missing) and stops it when CI exits. The tests make
# and drop their own databases; the outage test runs its own cluster on
# another port and never touches this one.
pg_bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && { echo "$d"; return 0; }; done
  return 1
}
start_postgres() {
  # The outage test needs initdb/pg_ctl even when a server already runs.
  pg_bindir >/dev/null || apt_install postgresql
  if ! port_open 5432; then
    local bin dir
    bin=$(pg_bindir)
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
    dir=$(mktemp -d)
    chown postgres "$dir"
    runuser -u postgres -- "$bin/initdb" -D "$dir/data" -A trust -U postgres >"$dir/initdb.log" 2>&1
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p 5432 -c listen_addresses=127.0.0.1 -k $dir" start >/dev/null
    wait_port 5432 30
    CI_STOP_COMMANDS+=("runuser -u postgres -- '$bin/pg_ctl' -D '$dir/data' -m fast -w stop")
  fi
  export PALISADE_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:5432/postgres"
  export PALISADE_TEST_POSTGRES_BINDIR
  PALISADE_TEST_POSTGRES_BINDIR=$(pg_bindir)
}
start_postgres
