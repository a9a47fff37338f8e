#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Run the libFuzzer build of fuzz-txn for a fixed time and print one line:
#   fuzz: <execs> execs in <seconds> s, <crashes> crashes
# Usage: run-fuzz.sh BINARY SEED_CORPUS WORK_DIR SECONDS
# New corpus entries go to WORK_DIR/corpus (the seed corpus in the source
# tree is only read), crash inputs to WORK_DIR/artifacts, the log to
# WORK_DIR/fuzz.log.  Exits 1 when a crash was found.  FUZZ_ARGS adds
# libFuzzer options.
set -u
bin=$1 seeds=$2 work=$3 secs=$4

mkdir -p "$work/corpus" "$work/artifacts" || exit 1
log=$work/fuzz.log
before=$(ls "$work/artifacts" | wc -l)
start=$(date +%s)
# shellcheck disable=SC2086
"$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=20 \
	-max_len=4096 -rss_limit_mb=4096 -artifact_prefix="$work/artifacts/" \
	${FUZZ_ARGS:-} "$work/corpus" "$seeds" >"$log" 2>&1
rc=$?
end=$(date +%s)
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
after=$(ls "$work/artifacts" | wc -l)
crashes=$((after - before))
if [ "$rc" != 0 ] && [ "$crashes" = 0 ]; then
	crashes=1    # died without leaving an artifact
fi
if [ "$crashes" != 0 ]; then
	tail -n 60 "$log" >&2
	echo "fuzz: inputs in $work/artifacts; replay with tests/fuzz/fuzz-txn-replay FILE" >&2
fi
echo "fuzz: ${execs:-0} execs in $((end - start)) s, $crashes crashes"
[ "$crashes" = 0 ]
