#!/usr/bin/env bash
# The demo behind `make run`: a simulated Databricks workspace, the collector with
# configs/demo.yaml, and a console that shows what flows through it.
#
#   - databricks-sim serves the `demo` scenario (configs/sim/demo.yaml) at 60x speed on
#     127.0.0.1:8089: normal users, clusters, jobs, and an attack every few wall seconds;
#   - alertprinter (scripts/alertprinter) receives the alert exporter's webhook on 127.0.0.1:9099
#     and prints every finding as one line; an Alertmanager already answering on
#     127.0.0.1:9093 gets the alerts too;
#   - the collector exposes every metric on http://localhost:8889/metrics, and this script
#     prints a status line every 10 s (audit events, findings, workspace series);
#   - everything is also written as JSON under ./demo-out/ (collector log included); state
#     (checkpoints, baselines) is kept in ./data/demo, `make clean` removes both.
#
# Ctrl-C stops all three. Environment: OTELCOL_BINARY (default bin/otelcol-databricks),
# DEMO_SIM_ADDR (127.0.0.1:8089), DEMO_PRINTER_ADDR (127.0.0.1:9099), DEMO_ALERTMANAGER
# (http://127.0.0.1:9093), DEMO_SPEEDUP (60), DEMO_SIM_START (now-3h), DEMO_STATUS_EVERY (10 s).
set -euo pipefail
cd "$(dirname "$0")/.."

export GOPROXY="${GOPROXY:-$(go env GOPROXY | cut -d, -f1)}"
collector="${OTELCOL_BINARY:-bin/otelcol-databricks}"
sim_addr="${DEMO_SIM_ADDR:-127.0.0.1:8089}"
printer_addr="${DEMO_PRINTER_ADDR:-127.0.0.1:9099}"
alertmanager="${DEMO_ALERTMANAGER:-http://127.0.0.1:9093}"
speedup="${DEMO_SPEEDUP:-60}"
# The timeline starts three hours back, so the first attacks of the scenario are already in the
# audit log the receiver reads on its first poll: findings appear within seconds. (The audit
# receiver reads up to the wall clock, so later attacks show up in real time, not sped up.)
sim_start="${DEMO_SIM_START:-now-3h}"
status_every="${DEMO_STATUS_EVERY:-10}"
metrics_url="http://${DEMO_PROMETHEUS_ENDPOINT:-127.0.0.1:8889}/metrics"
out_dir="${DEMO_OUT_DIR:-./demo-out}"
state_dir="${DEMO_STATE_DIR:-data/demo}"

say() { printf '\033[1m== %s\033[0m\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

port_free() { ! (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }
for addr in "$sim_addr" "$printer_addr" "${metrics_url#http://}"; do
  addr="${addr%/metrics}"
  port_free "$addr" || die "$addr is in use (another demo running?); stop it or set DEMO_*_ADDR / DEMO_PROMETHEUS_ENDPOINT"
done

say "building"
if [ ! -x "$collector" ]; then
  make build
fi
mkdir -p bin "$out_dir" "$state_dir"
go build -o bin/databricks-sim ./cmd/databricks-sim
go build -o bin/alertprinter ./scripts/alertprinter

pids=()
cleanup() {
  local code=$?
  trap - INT TERM EXIT
  echo
  say "stopping"
  # The collector first, so that it can still deliver what it holds to the printer.
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  say "output kept in $out_dir/, state in $state_dir/ (\`make clean\` removes ./demo-out and ./data)"
  exit "$code"
}
trap 'cleanup' EXIT
trap 'exit 0' INT TERM

say "starting the simulated workspace on http://$sim_addr (scenario demo, ${speedup}x)"
bin/databricks-sim --scenario configs/sim/demo.yaml --start "$sim_start" --speedup "$speedup" --listen "$sim_addr" \
  >"$out_dir/simulator.log" 2>&1 &
sim_pid=$!
for _ in $(seq 1 120); do
  grep -q '^listening on' "$out_dir/simulator.log" 2>/dev/null && break
  kill -0 "$sim_pid" 2>/dev/null || die "the simulator stopped: $(cat "$out_dir/simulator.log")"
  sleep 0.5
done
grep -q '^listening on' "$out_dir/simulator.log" || die "the simulator did not start within 60 s"
sed -n '1p' "$out_dir/simulator.log"

say "starting the finding printer on http://$printer_addr (findings appear below as they are raised)"
bin/alertprinter --listen "$printer_addr" --out "$out_dir/alerts.jsonl" &
printer_pid=$!

alertmanager_enabled=false
if curl -fsS -m 1 "$alertmanager/-/ready" >/dev/null 2>&1; then
  alertmanager_enabled=true
  say "Alertmanager answers on $alertmanager: alerts go there too"
fi

say "starting the collector with configs/demo.yaml (log: $out_dir/collector.log)"
DATABRICKS_HOST="http://$sim_addr" \
DATABRICKS_TOKEN="${DATABRICKS_TOKEN:-dapi-simulator-token}" \
DEMO_ALERT_WEBHOOK="http://$printer_addr/alerts" \
DEMO_ALERTMANAGER_ENABLED="$alertmanager_enabled" \
DEMO_ALERTMANAGER_ENDPOINT="$alertmanager" \
DEMO_OUT_DIR="$out_dir" \
DEMO_STATE_DIR="$state_dir" \
  "$collector" --config configs/demo.yaml >"$out_dir/collector.log" 2>&1 &
collector_pid=$!
# Stopped in this order by cleanup().
pids=("$collector_pid" "$printer_pid" "$sim_pid")

# sums the samples of one metric family in the Prometheus text format
metric_sum() { awk -v m="$1" '$1 ~ "^"m"({|$)" { s += $NF } END { printf "%d", s }' <<<"$2"; }

say "metrics: $metrics_url   JSON: $out_dir/   Ctrl-C to stop"
while kill -0 "$collector_pid" 2>/dev/null; do
  sleep "$status_every" &
  wait $! || true
  kill -0 "$collector_pid" 2>/dev/null || break
  page="$(curl -fsS -m 2 "$metrics_url" 2>/dev/null || true)"
  [ -n "$page" ] || { echo "status: waiting for $metrics_url"; continue; }
  printf 'status %s  audit events: %s  findings: %s  clusters: %s  job runs: %s  series on :8889: %s\n' \
    "$(date +%H:%M:%S)" \
    "$(metric_sum databricks_audit_events_total "$page")" \
    "$(metric_sum databricks_access_anomaly_findings_total "$page")" \
    "$(grep -c '^databricks_cluster_workers{.*kind="target"' <<<"$page" || true)" \
    "$(metric_sum databricks_job_runs_total "$page")" \
    "$(grep -c '^[a-z]' <<<"$page" || true)"
done
if ! wait "$collector_pid"; then
  echo "the collector stopped; last lines of $out_dir/collector.log:" >&2
  tail -n 20 "$out_dir/collector.log" >&2
  exit 1
fi
