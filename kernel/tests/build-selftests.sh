#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Build KVM's memslot selftests statically from the patched tree that
# kernel/build.sh left behind.
# usage: build-selftests.sh TREE OUTDIR
# Leaves OUTDIR/set_memory_region_test and
# OUTDIR/memslot_modification_stress_test; reuses them if present.
set -euo pipefail
# Run from make check, the parent make's flags (jobserver, MAKELEVEL) make
# the kernel's own makefiles lose their targets: start from a clean slate.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
tree=$1 out=$2
tests=(set_memory_region_test memslot_modification_stress_test)
have=1
for t in "${tests[@]}"; do [[ -x $out/$t ]] || have=0; done
((have)) && exit 0
[[ -d $tree/tools/testing/selftests/kvm ]] || { echo "build-selftests.sh: no kernel tree at $tree" >&2; exit 1; }
mkdir -p "$out"
log=$out/build.log
{
  make -C "$tree" headers_install
  st=$tree/tools/testing/selftests/kvm
  make -C "$st" -j"${JOBS:-$(nproc)}" LDFLAGS="-pthread -static" "${tests[@]/#/$st/}"
} >"$log" 2>&1 || { tail -n 30 "$log" >&2; echo "build-selftests.sh: failed, see $log" >&2; exit 1; }
for t in "${tests[@]}"; do cp "$tree/tools/testing/selftests/kvm/$t" "$out/$t.tmp" && mv "$out/$t.tmp" "$out/$t"; done
