#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Run the real-kernel tier's programs one after the other against this
# machine's /dev/kvm and add up what they report.  Used by the QEMU guests'
# /init (run-tier.sh copies it into the initramfs, busybox sh runs it) and
# by realkvm-host.test (run-host.sh) on the host itself, so both count the
# same way.  POSIX sh: it must run under busybox.
#
# usage: rk-run.sh PROGRAM...
#
# A program named *ex-* is an example (examples/*.c built statically): it
# runs with MEMSLOT_EXAMPLE_BACKEND=kvm and is one check, passed when it
# exits 0 and its first line is "backend: /dev/kvm".  With RK_MODE=batch
# (a kernel with the batch ioctl, kernel/) an example is a second check:
# it prints "mode: AUTO, so each commit is one KVM_SET_USER_MEMORY_REGION_LIST"
# for its vm and never "commits are sequential" (MEMSLOT_MODE_AUTO picked
# the batch path).  Any other program
# reports "RK-TALLY passed=N failed=M [skipped=K]" (rk.c), and rk-diff
# "RK-DIFF changes=N mismatches=M"; a program without a tally, or one that
# exits non-zero with no failed check, counts one failure.
#
# Environment: RK_SEED, RK_DIFF_CHANGES, RK_MODE (passed on to the programs),
# RK_PROG_TIMEOUT (seconds per program, through timeout(1); unset: none),
# RK_TMP (directory for the output files; default /tmp).
#
# Ends with the line
#   RK-SUM passed=N failed=M skipped=K changes=C mismatches=X
# and exits 0 (the caller judges the sum).

passed=0 failed=0 skipped=0 changes=0 mism=0
out=${RK_TMP:-/tmp}/rk-run.$$.out
trap 'rm -f "$out"' EXIT

uptime_s() { cut -d' ' -f1 /proc/uptime; }

for t in "$@"; do
	name=${t##*/}
	echo "rk-run: ---- $name"
	start=$(uptime_s)
	case $name in
	*ex-*) env="MEMSLOT_EXAMPLE_BACKEND=kvm" ;;
	*) env="RK_SEED=${RK_SEED:-} RK_DIFF_CHANGES=${RK_DIFF_CHANGES:-20000} RK_MODE=${RK_MODE:-}" ;;
	esac
	if [ -n "${RK_PROG_TIMEOUT:-}" ]; then
		env $env timeout -k 5 "$RK_PROG_TIMEOUT" "$t" >"$out" 2>&1
	else
		env $env "$t" >"$out" 2>&1
	fi
	rc=$?
	cat "$out"
	end=$(uptime_s)
	case $name in
	*ex-*)
		first=$(head -n 1 "$out")
		if [ "$rc" = 0 ] && [ "$first" = "backend: /dev/kvm" ]; then
			passed=$((passed + 1))
		else
			echo "rk-run: FAIL: example $name exited $rc, first line '$first' (wanted 0 and 'backend: /dev/kvm')"
			failed=$((failed + 1))
		fi
		if [ "${RK_MODE:-}" = batch ]; then
			if grep -q 'mode: AUTO, so each commit is one KVM_SET_USER_MEMORY_REGION_LIST' "$out" &&
			   ! grep -q 'commits are sequential' "$out"; then
				passed=$((passed + 1))
			else
				echo "rk-run: FAIL: example $name did not pick the batch path (RK_MODE=batch: wanted 'mode: AUTO, so each commit is one KVM_SET_USER_MEMORY_REGION_LIST')"
				failed=$((failed + 1))
			fi
		fi
		;;
	*)
		tally=$(awk '/^RK-TALLY / {
				n++
				for (i = 2; i <= NF; i++) {
					split($i, kv, "=")
					if (kv[1] == "passed") p += kv[2]
					else if (kv[1] == "failed") f += kv[2]
					else if (kv[1] == "skipped") s += kv[2]
				}
			}
			END { printf "%d %d %d %d", p, f, s, n }' "$out")
		set -- $tally 0 0 0 0
		passed=$((passed + $1)) failed=$((failed + $2)) skipped=$((skipped + $3))
		if [ "$4" = 0 ]; then
			echo "rk-run: $name printed no tally (crash? exit $rc): counted as a failure"
			failed=$((failed + 1))
		elif [ "$rc" != 0 ] && [ "$2" = 0 ]; then
			echo "rk-run: $name exited $rc with no failed check: counted as a failure"
			failed=$((failed + 1))
		fi
		d=$(awk '/^RK-DIFF / { split($2, a, "="); split($3, b, "="); c += a[2]; m += b[2] }
			END { printf "%d %d", c, m }' "$out")
		set -- $d 0 0
		changes=$((changes + $1)) mism=$((mism + $2))
		;;
	esac
	echo "rk-run: $name exit $rc, $(awk "BEGIN { print $end - $start }") s"
done
echo "RK-SUM passed=$passed failed=$failed skipped=$skipped changes=$changes mismatches=$mism"
exit 0
