# Sourced by the scripts that start `reprise serve` beside them.

# free_port: a loopback port nothing listens on now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_ready URL PID LOG: waits up to a minute for URL/readyz to answer 200; fails with the
# server's log when the process PID ends first.
wait_ready() {
  local url=$1 pid=$2 log=$3
  for _ in $(seq 1 240); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" = 200 ] && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$log" >&2
      echo "the server did not start" >&2
      return 1
    fi
    sleep 0.25
  done
  echo "the server was not ready within a minute" >&2
  return 1
}

# stop_server PID: stops a server started in the background, if one was.
stop_server() {
  if [ -n "${1:-}" ]; then
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}
