#!/usr/bin/env bash
# Runs camstream locally: capture with its two built-in test cameras, and
# edge on :8080 in front of it. `make run` builds both first. Ctrl-C stops
# both cleanly. CAPTURE_LISTEN, CAPTURE_HTTP_LISTEN and EDGE_LISTEN move
# the ports; every other CAPTURE_* / EDGE_* variable works as usual.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${CAMSTREAM_BIN:-bin}
for b in capture edge; do
  [ -x "$bin/$b" ] || { echo "run: $bin/$b is missing: run 'make build' (or 'make run')" >&2; exit 1; }
done

capture_listen=${CAPTURE_LISTEN:-:50051}
edge_listen=${EDGE_LISTEN:-:8080}
edge_port=${edge_listen##*:}
url="http://localhost:${edge_port}/"

pids=()
stop() {
  trap - INT TERM EXIT
  if [ ${#pids[@]} -gt 0 ]; then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

alive() {
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "run: a service exited during start-up (see its log above)" >&2; exit 1; }
  done
}

CAPTURE_LISTEN=$capture_listen "$bin/capture" &
pids+=($!)
# Start edge once capture listens, so its first look finds the cameras.
for _ in $(seq 1 150); do
  (exec 3<>"/dev/tcp/127.0.0.1/${capture_listen##*:}") 2>/dev/null && break
  alive
  sleep 0.2
done
EDGE_LISTEN=$edge_listen EDGE_CAPTURE=${EDGE_CAPTURE:-localhost:${capture_listen##*:}} "$bin/edge" &
pids+=($!)

# Wait until edge reaches capture, then say where to look.
ready=""
for _ in $(seq 1 150); do
  if (exec 3<>"/dev/tcp/127.0.0.1/${edge_port}") 2>/dev/null &&
     { ! command -v curl >/dev/null || curl -fs -o /dev/null "http://127.0.0.1:${edge_port}/readyz"; }; then
    ready=yes
    break
  fi
  alive
  sleep 0.2
done
if [ -n "$ready" ]; then
  printf '\n  camstream is running: open %s  (grid: %sgrid)\n  Press Ctrl-C to stop.\n\n' "$url" "$url"
else
  echo "run: edge is not ready after 30 s; still trying (see the logs above)" >&2
fi

# Stop both when either ends.
set +e
wait -n "${pids[@]}"
status=$?
if [ "$status" -ne 0 ] && [ "$status" -lt 128 ]; then
  echo "run: a service exited with status $status; stopping the other" >&2
fi
exit "$status"
