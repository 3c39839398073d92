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
gofmt -w cmd/otelcol-databricks/*.go # as `make generate` does
while IFS= read -r meta; do
  (cd "$(dirname "$meta")" && "$MDATAGEN" metadata.yaml)
done < <(find receiver processor exporter -name metadata.yaml -not -path '*/testdata/*' 2>/dev/null)

# Compare what git would see in both trees: the committed (and new, unignored) files of the
# working tree against the regenerated scratch copy. Build products that .gitignore hides do not
# count.
status=0
for dir in cmd/otelcol-databricks receiver processor exporter; do
  [ -d "$root/$dir" ] || continue
  have=$(cd "$root" && git ls-files -co --exclude-standard -- "$dir" | sort)
  want=$(cd "$scratch" && find "$dir" -type f ! -name otelcol-databricks | sort)
  stale=0
  if [ "$have" != "$want" ]; then
    diff <(echo "$have") <(echo "$want") | sed -n 's/^> /  generated but missing: /p; s/^< /  present but not generated: /p' | grep -v 'present but not generated' || true
    # Only files that generation creates matter; extra hand-written files are fine.
    if comm -13 <(echo "$have") <(echo "$want") | grep -q .; then stale=1; fi
  fi
  while IFS= read -r f; do
    [ -f "$root/$f" ] || continue
    if ! cmp -s "$root/$f" "$scratch/$f"; then
      echo "  differs: $f"
      diff -u "$root/$f" "$scratch/$f" | head -n 20 || true
      stale=1
    fi
  done <<<"$want"
  if [ "$stale" -ne 0 ]; then
    echo "generated code is stale under $dir: run 'make generate' and commit the result"
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "generated code is up to date"
exit "$status"
