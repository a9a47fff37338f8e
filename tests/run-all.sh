#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The whole test suite, as CI runs it: installs what it needs (as root on
# Debian), builds in build/, and runs make check (the real-KVM tier and
# the batch-kernel tier under QEMU included), make distcheck, the sanitizer
# and valgrind runs, and the fuzzer.
#
#   sh tests/run-all.sh            everything
#   FUZZ_SECONDS=30 sh tests/run-all.sh
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)
stage() { printf '\n==== %s (%s)\n' "$*" "$(date +%H:%M:%S)"; }

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	stage "installing Debian packages"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2046
	apt-get install -y -qq --no-install-recommends \
		$(grep -v '^#' tests/debian-packages.txt) >/dev/null
fi

stage "build"
autoreconf -fi
mkdir -p build
cd build
../configure --quiet
make -j"$jobs"

stage "make check"
make -j"$jobs" check || { cat test-suite.log 2>/dev/null | tail -200; exit 1; }
# The real-kernel tiers' summary lines, from their logs.
grep -h -E '^(real-kvm|real-kvm-holes|real-kvm-bench|batch-kernel): ' \
	tests/realkvm/*.log kernel/tests/*.log 2>/dev/null | sort -u || :

stage "make distcheck (the real-KVM tier ran above)"
MEMSLOT_SKIP_REALKVM=1 make -j"$jobs" distcheck

cd "$top"
if [ -x tests/reliability/run-sanitizers.sh ]; then
	stage "ASan + UBSan"
	tests/reliability/run-sanitizers.sh
fi
if [ -x tests/reliability/run-valgrind.sh ]; then
	stage "valgrind memcheck"
	tests/reliability/run-valgrind.sh
fi
if [ -f tests/fuzz/Makefile.inc ]; then
	stage "fuzzing"
	make -C build fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-120}"
fi
stage "all tests passed"
