#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Real-kernel tier on the host: the programs the QEMU guests run
# (run-tier.sh), run directly against this machine's /dev/kvm, whatever
# its kernel (on CI: a 6.18 kernel with one address space, no SMM, and
# guest_memfd on a default VM; the programs skip what such a kernel cannot
# do and count it as skipped).  Ends with the tier's line
#
#   real-kvm: kernel <uname -r>: N passed, M failed; differential D changes, K mismatches
#
# usage: run-host.sh PROGRAM...   (the first *rk-selftest probes /dev/kvm)
#
# Exit status (automake test protocol): 0 pass, 1 fail, 77 skip.  Skipped
# when /dev/kvm is missing or cannot create a VM, even with CI=true: a
# fresh machine may lack it, and the QEMU tier covers the real kernels.
#
# Environment: RK_SEED, RK_DIFF_CHANGES (default 20000), RK_PROG_TIMEOUT
# (seconds per program, default 300), MEMSLOT_SKIP_REALKVM=1 (skip on
# purpose, exit 77).
set -u
set -o pipefail

me=realkvm-host
die() { echo "$me: FAIL: $*"; exit 1; }

if [[ ${MEMSLOT_SKIP_REALKVM:-} == 1 ]]; then
	echo "$me: SKIP: MEMSLOT_SKIP_REALKVM=1"
	exit 77
fi
[[ $# -ge 1 ]] || { echo "usage: $0 PROGRAM..."; exit 99; }
here=$(cd "$(dirname "$0")" && pwd) || die "cannot find my directory"

probe=
for p in "$@"; do
	[[ -x $p ]] || die "test program $p is missing (make check builds it)"
	[[ -z $probe && $p == *rk-selftest ]] && probe=$p
done
[[ -n $probe ]] || die "no rk-selftest among the programs (it probes /dev/kvm)"
why=$("$probe" --probe 2>&1)
case $? in
0) ;;
77) echo "$me: SKIP: /dev/kvm is not usable here (${why:-no reason given})"
    echo "$me: the QEMU tier (realkvm-6.1.test, realkvm-6.12.test) runs the same programs"
    exit 77 ;;
*) die "rk-selftest --probe: $why" ;;
esac

seed=${RK_SEED:-$(( RANDOM << 15 | RANDOM ))}
nchg=${RK_DIFF_CHANGES:-20000}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/realkvm-host.XXXXXX") || die "mktemp"
trap 'rm -rf "$tmp"' EXIT
kver=$(uname -r)

echo "$me: kernel $kver, $(nproc 2>/dev/null || echo '?') cpus, seed $seed, /dev/kvm of the host"
t0=$(date +%s)
RK_TMP=$tmp RK_SEED=$seed RK_DIFF_CHANGES=$nchg RK_PROG_TIMEOUT=${RK_PROG_TIMEOUT:-300} \
	/bin/sh "$here/rk-run.sh" "$@" | tee "$tmp/log" ||
	die "rk-run.sh failed"
t1=$(date +%s)

re='^RK-SUM passed=([0-9]+) failed=([0-9]+) skipped=([0-9]+) changes=([0-9]+) mismatches=([0-9]+)$'
sum=$(grep -E "$re" "$tmp/log" | tail -n 1)
[[ $sum =~ $re ]] || die "rk-run.sh printed no RK-SUM line"
npass=${BASH_REMATCH[1]} nfail=${BASH_REMATCH[2]} nskip=${BASH_REMATCH[3]}
ndiff=${BASH_REMATCH[4]} nmis=${BASH_REMATCH[5]}

grep '^real-kvm-bench: ' "$tmp/log"
echo "$me: $nskip checks skipped (what this kernel cannot do: see the 'skip' lines)"
echo "real-kvm: kernel $kver: $npass passed, $nfail failed; differential $ndiff changes, $nmis mismatches"
[[ $nfail == 0 ]] || die "$nfail checks failed on $kver"
[[ $nmis == 0 ]] || die "$nmis differential mismatches on $kver"
[[ $npass -gt 0 ]] || die "no check passed on $kver"
[[ $ndiff -ge $nchg ]] || die "differential ran $ndiff changes, wanted $nchg"
[[ $nchg -ge 20000 ]] || echo "$me: note: RK_DIFF_CHANGES=$nchg is below the tier's 20000"
echo "$me: PASS ($((t1 - t0)) s)"
exit 0
