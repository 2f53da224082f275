#!/usr/bin/env bash
# make bench: the end-to-end pipeline benchmarks (real RTSP camera, capture,
# edge, load client) and the Go micro-benchmarks, each repeated COUNT times;
# benchstat prints the median of every figure. BENCH narrows the pipeline
# benchmarks (a go test -bench pattern), e.g. BENCH='Viewers/viewers=100$'.
# The medians are drawn as PNG charts into docs/ (PLOTS=dir elsewhere) by
# test/benchplot.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-5}
out=.artifacts/bench
mkdir -p "$out"

{
  echo "date: $(date -u +%FT%TZ)  commit: $(git rev-parse --short HEAD 2>/dev/null || echo none)"
  echo "cpu: $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "kernel: $(uname -r)  $(go version)"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out/machine.txt"

echo "== pipeline benchmarks (count=$count), raw output in $out/pipeline.txt"
(cd test && go test -run '^$' -bench "${BENCH:-.}" -benchtime 1x -count "$count" -timeout 120m ./bench/) | tee "$out/pipeline.txt"

echo "== micro-benchmarks (count=$count), raw output in $out/micro.txt"
for m in services/capture services/edge; do
  (cd "$m" && go test -run '^$' -bench . -benchmem -count "$count" ./...)
done | tee "$out/micro.txt"

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/machine.txt"
echo "== charts of the pipeline benchmarks (medians) into ${PLOTS:-docs}/"
(cd test && go run ./benchplot -in "../$out/pipeline.txt" -out "../${PLOTS:-docs}")
echo "== medians"
benchstat "$out/pipeline.txt"
benchstat "$out/micro.txt"
