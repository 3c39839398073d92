#!/usr/bin/env bash
# Regenerates the OCB distribution and every mdatagen output in a scratch copy of the working
# tree and fails if anything differs from what is in the tree: generated code is committed, so a
# change to builder-config.yaml or a metadata.yaml must come with its regenerated output.
set -euo pipefail
: "${BUILDER:?path to the OCB binary}" "${MDATAGEN:?path to the mdatagen binary}"
root=$(git rev-parse --show-toplevel)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

cd "$root"
git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C "$scratch"

cd "$scratch"
"$BUILDER" --config builder-config.yaml --skip-compilation >"$scratch.ocb.log" 2>&1 ||
  { cat "$scratch.ocb.log"; exit 1; }
rm -f "$scratch.ocb.log"
while IFS= read -r meta; do
  (cd "$(dirname "$meta")" && "$MDATAGEN" metadata.yaml)
done < <(find receiver processor exporter -name metadata.yaml -not -path '*/testdata/*' 2>/dev/null)

status=0
for dir in cmd/otelcol-databricks receiver processor exporter; do
  [ -d "$root/$dir" ] || continue
  if ! diff -r -q -x otelcol-databricks "$root/$dir" "$scratch/$dir" >/dev/null; then
    echo "generated code is stale under $dir (run 'make generate' and commit the result):"
    diff -r -u -x otelcol-databricks "$root/$dir" "$scratch/$dir" | head -n 60 || true
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "generated code is up to date"
exit "$status"
