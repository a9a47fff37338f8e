#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The batch-kernel tier: build (or reuse) the patched 6.1 kernel, build
# KVM's memslot selftests and batchtest statically, boot the kernel under
# QEMU (-smp 2) and run them against its /dev/kvm, then the library's own
# real-KVM programs (tests/realkvm/rk-*, ex-*, built statically by make
# check) with RK_MODE=batch: MEMSLOT_MODE_BATCH, one list ioctl per commit
# (the examples run with MEMSLOT_MODE_AUTO and must pick the batch path).
# Ends with
#   batch-kernel: <uname -r>: N passed, M failed; holes batch X of Y reads, sequential A of B reads
# where N and M add up batchtest's checks (raw ioctls, KVM's selftests
# counted in) and the library programs' checks, and the holes are the
# library's hole test (rk-holes: 1,000 resizes while a vCPU reads; batch
# commits without quiesce against sequential commits without quiesce).
# batchtest's own summary (raw ioctls) is printed as "batchtest: ..." and the
# batch-vs-sequential timings (1,000 creates, 1,000 deletes) as "timing ...";
# other notes start with "batch-kernel-tier:", so that the summary is the
# only line starting with "batch-kernel: " when the tier runs.
#
# usage: kernel/tests/run-tier.sh [CACHE_DIR]     (CACHE_DIR as for build.sh)
# Environment:
#   LIBMEMSLOT_BUILDDIR  build directory holding tests/realkvm/rk-* and ex-*
#                        (batch-kernel.test: the directory make check runs
#                        in; default: the current directory).  Missing
#                        programs are built there when it has a Makefile;
#                        otherwise the library's part is skipped with a
#                        message (a failure when CI=true) and the summary
#                        line carries batchtest's numbers alone.
#   RK_SEED, RK_DIFF_CHANGES (default 20000), RK_BENCH_ROUNDS (default 3),
#                        RK_HOLE_RESIZES (default 1000),
#                        RK_PROG_TIMEOUT (default 600 s per program)
#   QEMU_SMP (2), QEMU_MEM (2048), QEMU_TIMEOUT (1800 s)
# Exit: 0 pass, 1 fail, 77 skipped (a dependency is missing and CI is not
# "true"; with CI=true a missing dependency is a failure).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kdir=$(dirname "$here")
srcdir=$(dirname "$kdir")
skip() {
  echo "batch-kernel: SKIP: $*"
  if [[ ${CI:-} == true ]]; then echo "batch-kernel: CI=true: a skipped tier is a failure"; exit 1; fi
  exit 77
}
for p in qemu-system-x86_64 busybox cpio gzip gcc; do
  command -v $p >/dev/null || skip "missing $p (apt-get install qemu-system-x86 busybox-static cpio build-essential)"
done

# ---- the library's programs (built by make check in the build directory) ----
# In the order of tests/realkvm/Makefile.inc (RK_ALL): rk-selftest first (it
# also holds a VM for the whole run, see rk.c), rk-bench last.
lib_progs=(rk-selftest rk-rules rk-diff rk-txn rk-holes
           ex-resize ex-hotplug ex-dirty-log ex-live-guest ex-encode rk-bench)
bdir=${LIBMEMSLOT_BUILDDIR:-$PWD}
have_lib=1 missing=()
for p in "${lib_progs[@]}"; do [[ -x $bdir/tests/realkvm/$p ]] || missing+=("tests/realkvm/$p"); done
if ((${#missing[@]})) && [[ -f $bdir/Makefile ]]; then
  echo "batch-kernel-tier: building ${missing[*]} in $bdir"
  make -C "$bdir" "${missing[@]}" >"${TMPDIR:-/tmp}/batch-kernel-build.$$.log" 2>&1 ||
    { tail -n 20 "${TMPDIR:-/tmp}/batch-kernel-build.$$.log"; echo "batch-kernel: building the library's programs failed"; exit 1; }
  rm -f "${TMPDIR:-/tmp}/batch-kernel-build.$$.log"
  missing=()
  for p in "${lib_progs[@]}"; do [[ -x $bdir/tests/realkvm/$p ]] || missing+=("tests/realkvm/$p"); done
fi
for p in "${lib_progs[@]}"; do
  # the guest has no libc: the programs must be static
  if [[ -x $bdir/tests/realkvm/$p ]] && ldd "$bdir/tests/realkvm/$p" >/dev/null 2>&1; then
    missing+=("tests/realkvm/$p (not static)")
  fi
done
if ((${#missing[@]})); then
  have_lib=0
  echo "batch-kernel-tier: NOTE: the library's real-KVM programs are missing in $bdir: ${missing[*]}"
  echo "batch-kernel-tier: NOTE: run this tier through make check (make check TESTS=kernel/tests/batch-kernel.test)"
  echo "batch-kernel-tier: NOTE: or set LIBMEMSLOT_BUILDDIR to a configured build directory"
  if [[ ${CI:-} == true ]]; then echo "batch-kernel: CI=true: the library's part is required"; exit 1; fi
  echo "batch-kernel-tier: NOTE: skipping the library's part: the summary counts batchtest's raw-ioctl checks only"
fi

# ---- kernel, selftests, batchtest -------------------------------------------
img=$("$kdir/build.sh" "$@"); rc=$?
((rc == 2)) && skip "kernel build dependencies missing (see above)"
((rc == 0)) || { echo "batch-kernel: kernel build failed"; exit 1; }
img=$(tail -n 1 <<<"$img")
tree=$(dirname "$(dirname "$(dirname "$img")")")/tree
bin=$(dirname "$img")/bin
"$here/build-selftests.sh" "$tree" "$bin" || { echo "batch-kernel: selftest build failed"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/batch-kernel.XXXXXX") || { echo "batch-kernel: mktemp failed"; exit 1; }
trap 'rm -rf "$work"' EXIT
gcc -O2 -Wall -Wextra -static -pthread -o "$work/batchtest" "$here/batchtest.c" ||
  { echo "batch-kernel: batchtest build failed"; exit 1; }

# ---- what runs in the guest ------------------------------------------------------
# KVM's selftests, then the library in MEMSLOT_MODE_BATCH, then batchtest
# (whose dmesg check, last, covers everything before it).
seed=${RK_SEED:-$(( RANDOM << 15 | RANDOM ))}
runs=("+$bin/set_memory_region_test" "+$bin/memslot_modification_stress_test"
      "$here/guest-selftests.sh")
if ((have_lib)); then
  cat >"$work/guest-library.sh" <<'GUEST'
#!/bin/sh
# Inside the guest: the library's real-KVM programs with RK_MODE=batch
# (tests/realkvm/rk-run.sh counts their checks: RK-SUM).  Arguments:
# VAR=VALUE settings, then program names under /tests.
export RK_MODE=batch RK_TMP=/tmp
progs=
for a in "$@"; do
  case $a in
  *=*) export "$a" ;;
  *) progs="$progs /tests/$a" ;;
  esac
done
echo "guest: library programs, RK_MODE=$RK_MODE, seed $RK_SEED:$progs"
# One VM held for the whole run (see rk.c: static keys and TCG).
/tests/rk-selftest --hold &
hold=$!
sh /tests/rk-run.sh $progs 2>&1 | tee /tmp/library.log
kill $hold 2>/dev/null
wait $hold 2>/dev/null
sum=$(sed -n 's/^RK-SUM passed=[0-9]* failed=\([0-9]*\) .*mismatches=\([0-9]*\)$/\1 \2/p' /tmp/library.log | tail -n 1)
[ -n "$sum" ] || { echo "guest: rk-run.sh printed no RK-SUM line"; exit 1; }
set -- $sum
[ "$1" = 0 ] && [ "$2" = 0 ]
GUEST
  chmod +x "$work/guest-library.sh"
  for p in "${lib_progs[@]}"; do runs+=("+$bdir/tests/realkvm/$p"); done
  runs+=("+$srcdir/tests/realkvm/rk-run.sh")
  runs+=("$work/guest-library.sh@RK_SEED=$seed RK_DIFF_CHANGES=${RK_DIFF_CHANGES:-20000} RK_BENCH_ROUNDS=${RK_BENCH_ROUNDS:-3} RK_HOLE_RESIZES=${RK_HOLE_RESIZES:-1000} RK_PROG_TIMEOUT=${RK_PROG_TIMEOUT:-600} ${lib_progs[*]}")
fi
runs+=("$work/batchtest")

log=$(dirname "$img")/console.log
t0=$(date +%s)
echo "batch-kernel-tier: booting $(basename "$(dirname "$img")")/bzImage under QEMU (-smp ${QEMU_SMP:-2}), seed $seed"
QEMU_SMP=${QEMU_SMP:-2} QEMU_MEM=${QEMU_MEM:-2048} QEMU_TIMEOUT=${QEMU_TIMEOUT:-1800} \
  "$here/run-in-qemu.sh" "$img" "${runs[@]}" >"$work/console.log" 2>&1
t1=$(date +%s)
cp "$work/console.log" "$log" 2>/dev/null || log=$work/console.log
sed 's/^batch-kernel: /batchtest: /' "$log"
echo "batch-kernel-tier: QEMU ran $((t1 - t0)) s (console log: $log)"

# ---- the verdict -----------------------------------------------------------------
fail() { echo "batch-kernel: FAIL: $*"; exit 1; }
ok=1
raw=$(grep -a '^batch-kernel: ' "$log" | tail -n 1)
re='^batch-kernel: ([^ ]+): ([0-9]+) passed, ([0-9]+) failed; holes batch ([0-9]+) of ([0-9]+) reads, sequential ([0-9]+) of ([0-9]+) reads$'
[[ $raw =~ $re ]] || fail "no summary line from batchtest (kernel panic or timeout?)"
rel=${BASH_REMATCH[1]} npass=${BASH_REMATCH[2]} nfail=${BASH_REMATCH[3]}
hb=${BASH_REMATCH[4]} rb=${BASH_REMATCH[5]} hs=${BASH_REMATCH[6]} rs=${BASH_REMATCH[7]}
echo "batch-kernel-tier: raw ioctls (batchtest): $npass passed, $nfail failed; holes batch $hb of $rb reads, sequential $hs of $rs reads"
((hb == 0)) || ok=0
tline=$(grep -a '^timing: ' "$log" | tail -n 1)
[[ -n $tline ]] && echo "timing (raw ioctls, batchtest): ${tline#timing: }"
if ((have_lib)); then
  sum=$(grep -a '^RK-SUM ' "$log" | tail -n 1)
  re='^RK-SUM passed=([0-9]+) failed=([0-9]+) skipped=([0-9]+) changes=([0-9]+) mismatches=([0-9]+)$'
  if [[ $sum =~ $re ]]; then
    lp=${BASH_REMATCH[1]} lf=${BASH_REMATCH[2]} ls=${BASH_REMATCH[3]}
    lc=${BASH_REMATCH[4]} lm=${BASH_REMATCH[5]}
    echo "batch-kernel-tier: library (RK_MODE=batch): $lp passed, $lf failed, $ls skipped; differential $lc changes, $lm mismatches"
    npass=$((npass + lp)) nfail=$((nfail + lf + lm))
  else
    echo "batch-kernel: the library's programs printed no RK-SUM line: counted as a failure"
    nfail=$((nfail + 1))
  fi
  holes=$(grep -a '^real-kvm-holes-batch: ' "$log" | tail -n 1)
  re='^real-kvm-holes-batch: kernel [^ ]+: batch ([0-9]+) of ([0-9]+) reads, sequential ([0-9]+) of ([0-9]+) reads$'
  if [[ $holes =~ $re ]]; then
    hb=${BASH_REMATCH[1]} rb=${BASH_REMATCH[2]} hs=${BASH_REMATCH[3]} rs=${BASH_REMATCH[4]}
  else
    echo "batch-kernel: rk-holes printed no real-kvm-holes-batch line: counted as a failure"
    nfail=$((nfail + 1))
  fi
  bench=$(grep -a '^real-kvm-bench-batch: ' "$log" | tail -n 1)
  if [[ -n $bench ]]; then
    # "...: 1000 creates: batch X ms (1 ioctl), sequential Y ms (1000 ioctls), Zx; ..."
    for w in creates deletes; do
      part=$(tr ';' '\n' <<<"${bench#real-kvm-bench-batch: kernel * }" | grep -E "^ ?1000 $w: " | sed 's/^ *//')
      [[ -n $part ]] && echo "timing (library, MEMSLOT_MODE_BATCH vs SEQUENTIAL, whole commit): $part"
    done
  else
    echo "batch-kernel: rk-bench printed no real-kvm-bench-batch line: counted as a failure"
    nfail=$((nfail + 1))
  fi
fi
grep -q 'RESULT rc=0' "$log" || { echo "batch-kernel: a guest program failed (no RESULT rc=0)"; ok=0; }
((nfail == 0 && npass > 0 && hb == 0)) || ok=0
echo "batch-kernel: $rel: $npass passed, $nfail failed; holes batch $hb of $rb reads, sequential $hs of $rs reads"
((ok)) && exit 0 || exit 1
