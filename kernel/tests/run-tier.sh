#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The batch-kernel tier: build (or reuse) the patched 6.1 kernel, build
# KVM's memslot selftests and batchtest statically, boot the kernel under
# QEMU (-smp 2) and run them against its /dev/kvm.  Ends with
#   batch-kernel: <uname -r>: N passed, M failed; holes batch X of Y reads, sequential A of B reads
# usage: kernel/tests/run-tier.sh [CACHE_DIR]     (CACHE_DIR as for build.sh)
# Exit: 0 pass, 1 fail, 77 skipped (a dependency is missing and CI is not
# "true"; with CI=true a missing dependency is a failure).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kdir=$(dirname "$here")
skip() {
  echo "batch-kernel: SKIP: $*"
  if [[ ${CI:-} == true ]]; then echo "batch-kernel: CI=true: a skipped tier is a failure"; exit 1; fi
  exit 77
}
for p in qemu-system-x86_64 busybox cpio gzip gcc; do
  command -v $p >/dev/null || skip "missing $p (apt-get install qemu-system-x86 busybox-static cpio build-essential)"
done
img=$("$kdir/build.sh" "$@"); rc=$?
((rc == 2)) && skip "kernel build dependencies missing (see above)"
((rc == 0)) || { echo "batch-kernel: kernel build failed"; exit 1; }
img=$(tail -n 1 <<<"$img")
tree=$(dirname "$(dirname "$(dirname "$img")")")/tree
bin=$(dirname "$img")/bin
"$here/build-selftests.sh" "$tree" "$bin" || { echo "batch-kernel: selftest build failed"; exit 1; }
gcc -O2 -Wall -Wextra -static -pthread -o "$bin/batchtest" "$here/batchtest.c" ||
  { echo "batch-kernel: batchtest build failed"; exit 1; }
log=$(dirname "$img")/console.log
QEMU_SMP=${QEMU_SMP:-2} QEMU_MEM=${QEMU_MEM:-2048} QEMU_TIMEOUT=${QEMU_TIMEOUT:-900} \
  "$here/run-in-qemu.sh" "$img" "+$bin/set_memory_region_test" "+$bin/memslot_modification_stress_test" \
  "$here/guest-selftests.sh" "$bin/batchtest" >"$log" 2>&1
grep -av '^batch-kernel: ' "$log"
line=$(grep -a '^batch-kernel: ' "$log" | tail -n 1)
re='^batch-kernel: [^ ]+: ([0-9]+) passed, ([0-9]+) failed; holes batch ([0-9]+) of ([0-9]+) reads, sequential [0-9]+ of [0-9]+ reads$'
if ! [[ $line =~ $re ]]; then
  echo "batch-kernel: no summary line (kernel panic or timeout?)"
  exit 1
fi
ok=1
(( BASH_REMATCH[2] == 0 && BASH_REMATCH[3] == 0 && BASH_REMATCH[1] > 0 )) || ok=0
grep -q 'RESULT rc=0' "$log" || ok=0
echo "$line"
((ok)) && exit 0 || exit 1
