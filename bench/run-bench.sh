#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-bench.sh BENCH [VALGRIND]: run memslot-bench for wall-clock figures,
# then under callgrind for instruction counts, and print one table of
# both, the targets of issue 6, and last the summary line
#   bench: 32764 slots: add N instr/op, naive M instr/op (Rx); growth Gx from 512 slots
# Used by `make bench`; see BENCHMARKS.md.  Exits non-zero only when a
# run fails, never because a target is missed (wall clock is not a test).
set -eu

bench=${1:?usage: run-bench.sh BENCH [VALGRIND]}
valgrind=${2:-valgrind}
[ -n "$valgrind" ] || valgrind=valgrind

tmp=$(mktemp -d "${TMPDIR:-/tmp}/memslot-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

echo "bench: wall clock (`nproc` CPUs, load `cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo ?`)" >&2
"$bench" >"$tmp/time.txt"

if ! command -v "$valgrind" >/dev/null 2>&1; then
	echo "bench: valgrind not found: instruction counts need it" >&2
	exit 1
fi
echo "bench: instructions under callgrind (a minute or two)" >&2
if ! "$valgrind" --tool=callgrind --collect-atstart=no \
	--callgrind-out-file="$tmp/cg.out" "$bench" --callgrind \
	>"$tmp/cg-stdout.txt" 2>"$tmp/cg-log.txt"; then
	cat "$tmp/cg-log.txt" >&2
	exit 1
fi
# One dump per metric: "desc: Trigger: Client Request: METRIC SIZE OPS"
# and "summary: INSTRUCTIONS".
for f in "$tmp"/cg.out.*; do
	awk '/^desc: Trigger: Client Request: / {
		sub(/^desc: Trigger: Client Request: /, ""); label = $0 }
	     /^summary:/ { if (label != "") print label, $2 }' "$f"
done >"$tmp/cg.txt"

awk '
function ratio(a, b) { return b > 0 ? a / b : 0 }
function cell(m, n,    s) {
	s = (m SUBSEP n) in ns ? sprintf("%.0f", ns[m, n]) : "-"
	s = s " / " (((m SUBSEP n) in ins) ? sprintf("%.0f", ins[m, n]) : "-")
	return s
}
function verdict(ok) { return ok ? "met" : "MISSED" }
FNR == 1 { file++ }
/^#/ { if (file == 1) print; next }
file == 1 && $1 == "ns" { ns[$2, $3] = $4 }
file == 1 && $1 == "bytes" { bytes[$2, $3] = $4 }
file == 1 && $1 == "allocs" { allocs[$2, $3] = $4 }
file == 2 { total[$1, $2] = $4; ops[$1, $2] = $3 }
END {
	empty = ratio(total["empty", 0], ops["empty", 0])
	for (k in total) {
		split(k, p, SUBSEP)
		if (p[1] != "empty")
			ins[p[1], p[2]] = ratio(total[k], ops[k]) - empty
	}
	nsz = split("16 512 4096 32764", sz, " ")
	nm = split("add naive_add delete naive_delete move naive_move txn1 commit1 encode1 txn1000 commit1000 encode1000", met, " ")
	name["add"] = "add, MEMSLOT_ANY_SLOT (per change)"
	name["naive_add"] = "  naive add (linear id + overlap)"
	name["delete"] = "delete (per change)"
	name["naive_delete"] = "  naive delete (lookup by gpa)"
	name["move"] = "move (per change)"
	name["naive_move"] = "  naive move (linear overlap)"
	name["txn1"] = "1-change txn: begin+move+commit"
	name["commit1"] = "1-change txn: commit only"
	name["encode1"] = "1-change txn: encode"
	name["txn1000"] = "1000-change txn: begin..commit"
	name["commit1000"] = "1000-change txn: commit only"
	name["encode1000"] = "1000-change txn: encode"
	printf "\nns / instructions per operation (ns: median of samples; instructions: callgrind)\n"
	printf "%-36s", "slots"
	for (i = 1; i <= nsz; i++) printf " %22s", sz[i]
	printf "\n"
	for (j = 1; j <= nm; j++) {
		printf "%-36s", name[met[j]]
		for (i = 1; i <= nsz; i++) printf " %22s", cell(met[j], sz[i])
		printf "\n"
	}
	printf "%-36s", "heap bytes per slot (vm view)"
	for (i = 1; i <= nsz; i++) printf " %22s", bytes["slot", sz[i]]
	printf "\n%-36s", "  with the empty vm object"
	for (i = 1; i <= nsz; i++) printf " %22s", bytes["vm", sz[i]]
	printf "\n%-36s", "heap allocations: commit, 1 change"
	for (i = 1; i <= nsz; i++) printf " %22s", allocs["commit1", sz[i]]
	printf "\n%-36s", "  commit, 1000 changes"
	for (i = 1; i <= nsz; i++) printf " %22s", allocs["commit1000", sz[i]]
	printf "\n%-36s", "  whole 1-change transaction"
	for (i = 1; i <= nsz; i++) printf " %22s", allocs["txn1", sz[i]]
	printf "\n%-36s", "  whole 1000-change transaction"
	for (i = 1; i <= nsz; i++) printf " %22s", allocs["txn1000", sz[i]]
	printf "\n\ntargets (issue 6):\n"
	worst = 0
	split("add delete move", pc, " ")
	for (j = 1; j <= 3; j++) {
		g = ratio(ins[pc[j], 32764], ins[pc[j], 512])
		if (g > worst) worst = g
		printf "  %-6s growth 512 -> 32764 slots: %.2fx\n", pc[j], g
	}
	printf "  per change at most 3x from 512 to 32764: %s (worst %.2fx)\n", verdict(worst <= 3), worst
	add = ins["add", 32764]; naive = ins["naive_add", 32764]
	printf "  add at 32764 >= 100x fewer instructions than naive: %s (%.0fx)\n", verdict(ratio(naive, add) >= 100), ratio(naive, add)
	g1 = ratio(ins["txn1", 32764], ins["txn1", 16])
	printf "  1-change txn, no step proportional to the table: %s (%.0f instr at 16, %.0f at 32764: %.2fx for 2048x the slots)\n", verdict(g1 <= 3), ins["txn1", 16], ins["txn1", 32764], g1
	b = bytes["slot", 32764]
	printf "  at most 128 bytes per slot: %s (%.1f at 32764)\n", verdict(b <= 128), b
	a1 = 0; a2 = 0
	for (i = 1; i <= nsz; i++) {
		if (allocs["commit1", sz[i]] > a1) a1 = allocs["commit1", sz[i]]
		if (allocs["commit1000", sz[i]] > a2) a2 = allocs["commit1000", sz[i]]
	}
	printf "  at most 1 heap allocation per commit: %s (%d with 1 change, %d with 1000)\n", verdict(a1 <= 1 && a2 <= 1), a1, a2
	printf "bench: 32764 slots: add %.0f instr/op, naive %.0f instr/op (%.0fx); growth %.1fx from 512 slots\n", add, naive, ratio(naive, add), ratio(add, ins["add", 512])
}' "$tmp/time.txt" "$tmp/cg.txt"
