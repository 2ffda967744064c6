# Redis for palisade-redis's integration tests (sourced by .ci/services).
# Uses whatever answers on 127.0.0.1:6379; otherwise starts redis-server
# there (installed from Debian's packages when missing), keeping nothing on
# disk, and stops it when CI exits. The fault tests start their own
# redis-server on another port and never touch this one.
start_redis() {
  if ! port_open 6379; then
    command -v redis-server >/dev/null 2>&1 || apt_install redis-server
    local dir
    dir=$(mktemp -d)
    redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no \
      --dir "$dir" --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
    wait_port 6379 20
    CI_STARTED_PIDS+=("$(cat "$dir/redis.pid")")
  fi
  # The fault tests need the binary even when a server already runs.
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  export PALISADE_TEST_REDIS_URL="redis://127.0.0.1:6379/"
}
start_redis
