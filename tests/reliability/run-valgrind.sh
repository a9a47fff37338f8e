#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The whole test suite under valgrind memcheck: every test program runs
# as `libtool --mode=execute valgrind --error-exitcode=1 --leak-check=full
# --errors-for-leak-kinds=definite` with CK_FORK=no (Check runs the tests
# in-process, so leaks are seen).  Scripts run as usual; the real-KVM tier
# is skipped (MEMSLOT_SKIP_REALKVM=1).  Its own build directory, plain
# CFLAGS (-g -O1).
#
#   tests/reliability/run-valgrind.sh [BUILD_DIR]
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build-valgrind}
jobs=$(nproc 2>/dev/null || echo 2)

command -v valgrind >/dev/null 2>&1 || { echo "valgrind not installed" >&2; exit 1; }
[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi)
mkdir -p "$build"
cd "$build"
"$top/configure" --quiet CFLAGS='-g -O1'
make -j"$jobs"

export MEMSLOT_SKIP_REALKVM=1 CK_FORK=no
export RELIABILITY_QUICK=1 FUZZ_RANDOM=${FUZZ_RANDOM:-300}
export VALGRIND_LIBTOOL="$build/libtool"
if ! make -j"$jobs" check \
	LOG_COMPILER="/bin/sh $top/tests/reliability/valgrind-wrap.sh"; then
	cat test-suite.log >&2 || :
	exit 1
fi
echo "valgrind: make check clean"
