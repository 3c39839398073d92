#!/usr/bin/env bash
# Timed fuzzing: runs every Go fuzz target of the repository for a fixed time each and prints a
# table (package, fuzzer, executions, result). Exits non-zero when a fuzzer fails or cannot run.
#
#   scripts/fuzz.sh [seconds-per-fuzzer]     # default 30
#
# Fuzz targets are found by their declaration (`func FuzzXxx(f *testing.F)` in a _test.go
# file), so a new fuzzer is picked up without editing this script. cmd/otelcol-databricks (the
# generated distribution) and hidden or vendored directories are skipped. Each target runs from
# the root of the Go module that holds it, as
#   go test -run '^$' -fuzz '^FuzzXxx$' -fuzztime <seconds>s ./<package>
# A failing input is written by Go to <package>/testdata/fuzz/FuzzXxx/ (reported in the table
# output); commit it as a regression case once the bug is fixed.
#
# Environment: FUZZ_ONLY (an extended regexp) keeps the targets whose "package/FuzzName"
# matches it, FUZZ_PARALLEL sets -parallel (fuzzing workers; Go's default is GOMAXPROCS),
# FUZZ_LOG_DIR keeps each target's full output there (default: a temporary directory, removed
# unless something failed).
set -euo pipefail

seconds="${1:-30}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
	echo "usage: $0 [seconds-per-fuzzer]   (a positive whole number, default 30)" >&2
	exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

log_dir="${FUZZ_LOG_DIR:-}"
keep_logs=1
if [[ -z "$log_dir" ]]; then
	log_dir="$(mktemp -d "${TMPDIR:-/tmp}/fuzz.XXXXXX")"
	keep_logs=0
fi
mkdir -p "$log_dir"

parallel_args=()
if [[ -n "${FUZZ_PARALLEL:-}" ]]; then
	parallel_args=(-parallel "$FUZZ_PARALLEL")
fi

# module_dir prints the directory of the go.mod that governs directory $1.
module_dir() {
	local d="$1"
	while [[ "$d" != "." && "$d" != "/" ]]; do
		[[ -f "$d/go.mod" ]] && { echo "$d"; return; }
		d="$(dirname "$d")"
	done
	echo "."
}

# "dir<TAB>FuzzName" for every fuzz target, sorted.
mapfile -t targets < <(
	find . \( -name '.?*' -o -name node_modules -o -name vendor -o -name testdata -o -path ./cmd/otelcol-databricks \) -prune \
		-o -type f -name '*_test.go' -print0 |
		xargs -0 grep -E -o '^func Fuzz[A-Za-z0-9_]*\(' |
		sed -E 's#^\./(.*)/[^/]+_test\.go:func (Fuzz[A-Za-z0-9_]*)\($#\1\t\2#' |
		sort -u |
		{ if [[ -n "${FUZZ_ONLY:-}" ]]; then awk -F'\t' -v re="$FUZZ_ONLY" '($1 "/" $2) ~ re'; else cat; fi; }
)
if [[ ${#targets[@]} -eq 0 ]]; then
	echo "no fuzz targets found" >&2
	exit 1
fi

echo "fuzzing ${#targets[@]} targets for ${seconds}s each (logs: $log_dir)"
rows=()
failed=0
incomplete=0
for entry in "${targets[@]}"; do
	dir="${entry%%$'\t'*}"
	name="${entry##*$'\t'}"
	mod="$(module_dir "$dir")"
	rel="./${dir#"$mod"/}"
	[[ "$mod" == "." ]] && rel="./$dir"
	log="$log_dir/$(echo "$dir" | tr '/' '_')_$name.log"
	start=$(date +%s)
	set +e
	(cd "$mod" && go test -run '^$' -fuzz "^${name}\$" -fuzztime "${seconds}s" "${parallel_args[@]}" "$rel") >"$log" 2>&1
	rc=$?
	set -e
	took=$(($(date +%s) - start))
	# The last progress line carries the total: "fuzz: elapsed: 5s, execs: 123456 (24690/sec), ...".
	execs="$( (grep -oE 'execs: [0-9]+' "$log" || true) | tail -n1 | awk '{print $2}')"
	execs="${execs:-0}"
	baseline="$( (grep -oE 'baseline coverage: [0-9]+/[0-9]+' "$log" || true) | tail -n1 | awk '{print $3}')"
	if [[ $rc -eq 0 && "$execs" -gt 0 ]]; then
		result="ok"
	elif [[ $rc -eq 0 && -n "$baseline" ]]; then
		# The whole time went into running the corpus once (baseline coverage): what ran passed,
		# but nothing new was tried. Give this target more seconds.
		if [[ "${baseline%/*}" == "${baseline#*/}" ]]; then
			result="ok (corpus only: $baseline entries, no new inputs)"
		else
			result="incomplete (time ran out in the corpus: $baseline entries)"
			incomplete=$((incomplete + 1))
		fi
	elif [[ $rc -eq 0 ]]; then
		# go test succeeded without fuzzing anything: the target did not match (build tags?).
		result="FAIL (did not fuzz)"
		failed=$((failed + 1))
	else
		input="$(grep -oE 'testdata/fuzz/[^ ]+' "$log" | head -n1 || true)"
		result="FAIL${input:+ (input: $dir/$input)}"
		failed=$((failed + 1))
	fi
	printf '%-52s %-32s %12s  %4ss  %s\n' "$dir" "$name" "$execs" "$took" "$result"
	rows+=("$(printf '%-52s %-32s %12s  %4ss  %s' "$dir" "$name" "$execs" "$took" "$result")")
done

echo
printf '%-52s %-32s %12s  %5s  %s\n' "package" "fuzzer" "executions" "time" "result"
printf '%s\n' "${rows[@]}"
echo
if [[ $failed -gt 0 ]]; then
	echo "$failed of ${#targets[@]} fuzz targets FAILED; their output is in $log_dir"
	exit 1
fi
if [[ $incomplete -gt 0 ]]; then
	echo "all ${#targets[@]} fuzz targets passed; $incomplete did not get through their corpus in ${seconds}s (give them more time)"
else
	echo "all ${#targets[@]} fuzz targets passed"
fi
if [[ $keep_logs -eq 0 ]]; then
	rm -rf "$log_dir"
fi
