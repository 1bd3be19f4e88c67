#!/usr/bin/env bash
# Benchmarks of the checkers, printed beside the targets they are held to
# (issue 4: 100k list-append transactions in under 5 s and 1M in under
# 60 s on 2 cores, with memory that grows linearly). Raw `go test -bench`
# output is kept in bin/bench.txt for benchstat.
#
# Then the load benchmark (issue 12): faultline's load path against
# pgbench on one PostgreSQL, same statements, isolation, clients and
# prepared statements, in alternating order, medians; one line per
# comparison, beside its target (>= 0.9 of pgbench's throughput, <= 1.5x
# its client CPU per operation). LOADBENCH_DURATION and LOADBENCH_REPS
# size it (default 20s, 3: about 10 min); its log is bin/loadbench.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bin
out=bin/bench.txt
: > "$out"
bench() { # package, pattern, benchtime
	echo "== go test $1 -bench '$2' -benchtime $3" >&2
	go test "$1" -run '^$' -bench "$2" -benchtime "$3" -benchmem -timeout 60m | tee -a "$out" >&2
}
bench ./check/elle 'Check/(valid|snapshot|stale|lagging)/(10k|100k)$' 3x
bench ./check/elle 'Check/(valid|lagging)/1M$' 1x
bench ./check 'Bank|Linearizable100k|RTO' 1x
bench ./workload 'Recorder' 1s

echo "== go test -tags loadbench ./workload/sqlclient -run LoadBench" >&2
go test -tags loadbench ./workload/sqlclient -run LoadBench -v -timeout 60m \
	-loadbench.duration "${LOADBENCH_DURATION:-20s}" -loadbench.reps "${LOADBENCH_REPS:-3}" >bin/loadbench.txt 2>&1 ||
	{ cat bin/loadbench.txt >&2; exit 1; }

awk '
function secs(ns) { return ns / 1e9 }
/^Benchmark/ {
	name = $1; sub(/-[0-9]+$/, "", name)
	if (!(name in ns)) order[++count] = name
	for (i = 2; i <= NF; i++) {
		if ($i == "ns/op") ns[name] = $(i-1)
		if ($i == "B/op") by[name] = $(i-1)
	}
}
END {
	printf "\n%-46s %12s %12s   %s\n", "benchmark", "time", "allocated", "target"
	for (k = 1; k <= count; k++) {
		n = order[k]
		target = ""
		if (n ~ /Check\/.*\/100k$/) target = (secs(ns[n]) < 5 ? "< 5 s: met" : "< 5 s: MISSED")
		if (n ~ /Check\/.*\/1M$/) target = (secs(ns[n]) < 60 ? "< 60 s: met" : "< 60 s: MISSED")
		printf "%-46s %10.3f s %9.1f MB   %s\n", n, secs(ns[n]), by[n] / 1048576, target
	}
	for (k = 1; k <= count; k++) if ((n = order[k]) ~ /Check\/.*\/1M$/) {
		small = n; sub(/1M$/, "100k", small)
		if (small in by) printf "memory %s → %s: ×%.1f for ×10 the transactions (linear is ×10)\n", small, n, by[n] / by[small]
	}
}' "$out"

echo
grep '^loadbench:' bin/loadbench.txt || true
awk '/^load / {
	tr = $0; sub(/.*throughput ratio /, "", tr); sub(/,.*/, "", tr)
	cr = $0; sub(/.*client CPU ratio /, "", cr); sub(/ .*/, "", cr)
	verdict = (tr + 0 >= 0.9 && cr + 0 <= 1.5) ? "target met" : "target MISSED"
	print $0 "  [" verdict ": >= 0.9 and <= 1.5]"
}' bin/loadbench.txt
