#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The whole test suite built with AddressSanitizer and UndefinedBehavior-
# Sanitizer (any report fails the test that produced it), in its own build
# directory.  The real-KVM tier is skipped (MEMSLOT_SKIP_REALKVM=1): it
# runs separately.
#
#   tests/reliability/run-sanitizers.sh [BUILD_DIR]
#   CC=clang tests/reliability/run-sanitizers.sh   (default: gcc, else clang)
#
# The shared library is linked with -Wl,--no-undefined, so the sanitizer
# runtime must be a shared library too: gcc does that by default; with
# clang the script adds -shared-libsan (to CC: libtool drops it from
# LDFLAGS) and an rpath to its runtime.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build-asan}
if [ -z "${CC:-}" ]; then
	if command -v gcc >/dev/null 2>&1; then CC=gcc; else CC=clang; fi
fi
san='-fsanitize=address,undefined'
flags="$san -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1"
ldflags=$san
if "$CC" --version 2>/dev/null | grep -q clang; then
	# In CC, since libtool drops -shared-libsan from LDFLAGS.
	rt=$("$CC" -print-file-name=libclang_rt.asan-x86_64.so)
	ldflags="$san -Wl,-rpath,$(dirname "$rt")"
	CC="$CC -shared-libsan"
fi
jobs=$(nproc 2>/dev/null || echo 2)

[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi)
mkdir -p "$build"
cd "$build"
"$top/configure" --quiet CC="$CC" CFLAGS="$flags" LDFLAGS="$ldflags"
make -j"$jobs"

export MEMSLOT_SKIP_REALKVM=1
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:verify_asan_link_order=0:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
# Check forks each test; leaks are reported in the child that made them.
# verify_asan_link_order=0: the install and pkg-config tests build plain
# consumers of the (instrumented) installed library.
if ! make -j"$jobs" check; then
	grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
		$(find . -name '*.log') 2>/dev/null | sed 's/^/sanitizer report in /' >&2
	cat test-suite.log >&2 || :
	exit 1
fi
if grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
	$(find . -name '*.log'); then
	echo "sanitizer reports in the logs above" >&2
	exit 1
fi
echo "sanitizers ($CC): make check clean"
