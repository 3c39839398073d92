#!/usr/bin/env bash
# Runs every benchmark of BENCHMARKS.md and writes the raw figures to $BENCH_OUT
# (default bench/results). Usage: bench/run.sh [collector-binary]
#
# About 15 minutes on an idle 2-core machine (15 min 34 s measured on 2026-11-27 with one
# body_format; 18 min 38 s with two that evening, on a machine at about 0.55x the speed);
# BENCH_VARIANTS=1 adds four steady-load variants and the ingestion comparison with both file
# exporters writing protobuf (about 14 more minutes). Benchmarks only run here, never in
# `make test`: the Go code in bench/ is behind the `bench` build tag, and the components'
# Benchmark* functions only run with -bench.
set -euo pipefail

cd "$(dirname "$0")/.."
BINARY=${1:-${OTELCOL_BINARY:-bin/otelcol-databricks}}
OUT=${BENCH_OUT:-bench/results}
mkdir -p "$OUT"
export GOPROXY=${GOPROXY:-$(go env GOPROXY | cut -d, -f1)}

{
  echo "date: $(date -u +%FT%TZ)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "load average (1/5/15 min) at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "go: $(go version)"
  echo "collector: $("$BINARY" --version)"
} | tee "$OUT/machine.txt"

step() { echo; echo "== $*"; }

# 5. Parse + normalise of the audit receiver, and the JSON decoders alone (ceiling).
step "auditlog parse + normalise (-cpu 1)"
# -count 6 so that benchstat can compare two runs (e.g. before/after a change to the parser).
go test -run '^$' -bench 'BenchmarkParseDeliveryLine|BenchmarkDecodeOnly' -benchmem -cpu 1 -count 6 -benchtime 2s \
  ./receiver/databricksauditreceiver/auditlog/ | tee "$OUT/auditlog.txt"

# 3. access_anomaly alone: the processor package's own benchmarks, 10k and 100k identities. A
# fixed number of 1,000-record batches: with -benchtime <duration> every calibration round would
# repeat the 100k case's warm-up (2M records).
step "access_anomaly processor (-cpu 1)"
go test -run '^$' -bench 'BenchmarkProcessorBuiltinPack' -benchmem -cpu 1 -count 3 -benchtime 400x -timeout 20m \
  ./processor/accessanomalyprocessor/ | tee "$OUT/processor.txt"
# 10k, 100k (about 8M records, 2-3 minutes) and 20k identities at a 5k cap.
go test -run '^$' -bench 'BenchmarkProcessorMemoryPerIdentity' -benchmem -cpu 1 -count 1 -benchtime 1x -timeout 30m \
  ./processor/accessanomalyprocessor/ | tee -a "$OUT/processor.txt"

# 4. databricks receiver: against the in-memory fake (receiver package) and the real simulator.
step "databricks receiver scrape"
go test -run '^$' -bench 'BenchmarkScrape$' -benchmem -count 3 ./receiver/databricksreceiver/ | tee "$OUT/scrape.txt"
go test -tags bench -run '^$' -bench 'BenchmarkScrapeSimulator' -benchtime 1x -timeout 15m ./bench/scrape/ | tee -a "$OUT/scrape.txt"

# 1 and 2. The distribution binary: delivery ingestion against the contrib pipeline, and the
# steady 10k records/s load.
step "collector harness: ingest (3 runs per pipeline), schema comparison, steady load (2 runs per body_format)"
go build -tags bench -o "$OUT/harness" ./bench/harness
# The steady load as the contrib testbed's Log10kDPS runs it: OTLP hop without compression, two
# runs with a fresh collector each (median, min, max; steady*.bench.txt for benchstat), with the
# audit receiver's default body_format (map) and with body_format: string.
"$OUT/harness" -binary "$BINARY" -profile-seconds 20 -steady-compression none -steady-runs 2 -results "$OUT/harness.json" ingest steady \
  2> >(tee "$OUT/harness.log" >&2) > /dev/null
"$OUT/harness" -binary "$BINARY" -profile-seconds 20 -steady-compression none -steady-body-format string -steady-runs 2 \
  -results "$OUT/harness-steady-body-string.json" steady 2> >(tee -a "$OUT/harness.log" >&2) > /dev/null
# Optional variants (about 2 minutes each): the steady load with the otlp_grpc exporter's
# default compression (gzip), without the processor (what the receiver and exporter cost
# alone) and with the OTLP hop's other compressions; the ingestion comparison with both
# pipelines' file exporters writing protobuf instead of JSON.
if [[ ${BENCH_VARIANTS:-0} == 1 ]]; then
  "$OUT/harness" -binary "$BINARY" -steady-runs 1 -results "$OUT/harness-steady-gzip.json" steady \
    2> >(tee -a "$OUT/harness.log" >&2) > /dev/null
  "$OUT/harness" -binary "$BINARY" -steady-processor "" -steady-compression none -steady-runs 1 -results "$OUT/harness-baseline.json" steady \
    2> >(tee -a "$OUT/harness.log" >&2) > /dev/null
  for c in snappy zstd; do
    "$OUT/harness" -binary "$BINARY" -steady-compression "$c" -steady-runs 1 -profile-seconds 20 \
      -results "$OUT/harness-compression-$c.json" steady 2> >(tee -a "$OUT/harness.log" >&2) > /dev/null
  done
  "$OUT/harness" -binary "$BINARY" -ingest-file-format proto -results "$OUT/harness-ingest-proto.json" ingest \
    2> >(tee -a "$OUT/harness.log" >&2) > /dev/null
fi

echo "load average (1/5/15 min) at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/machine.txt"
echo "results in $OUT (profiles: $OUT/*.pprof; go tool pprof -top <binary> <profile>)"
