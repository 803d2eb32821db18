#!/usr/bin/env bash
# Repeat the Redis-marked tests (events, rate limits) against a real redis-server on loopback.
set -euo pipefail
py=${1:-python3}
if ! command -v redis-server >/dev/null; then
  echo "real-redis: redis-server is not installed (apt-get install redis-server); skipping the repeat" >&2
  [ "${CI:-}" = "true" ] && exit 1
  exit 0
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --daemonize yes \
  --pidfile "$dir/redis.pid" >/dev/null
trap 'kill "$(cat "$dir/redis.pid")" 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
echo "real-redis: repeating the redis-marked tests against redis-server on 127.0.0.1:$port"
ESTORE_TEST_REDIS_URL="redis://127.0.0.1:$port/0" "$py" -m pytest -m redis
