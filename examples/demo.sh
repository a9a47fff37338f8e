#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The demonstration, from a fresh clone:
#
#     sh examples/demo.sh
#
# 1. installs what the build needs when it is missing (Debian: apt-get,
#    as root; otherwise it prints the command and stops);
# 2. builds libmemslot and its examples out of tree, in build-demo/
#    (autoreconf -fi, ../configure, make), or in the source tree when that
#    is already configured; the build's output goes to build-demo.log;
# 3. runs the tour (examples/tour.sh).
#
# The examples use /dev/kvm when it is usable and the simulated kernel
# otherwise.  Set MEMSLOT_EXAMPLE_BACKEND=sim to force the latter.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# ---- 1. build dependencies -------------------------------------------------

# "tool package" pairs: the package (Debian 12) that provides each tool.
missing=""
need() {
	if ! eval "$1" >/dev/null 2>&1; then
		case " $missing " in
		*" $2 "*) ;;
		*) missing="$missing $2" ;;
		esac
	fi
}
need "command -v autoreconf" autoconf
need "command -v automake" automake
need "command -v libtoolize" libtool
need "command -v make" make
need "command -v gcc" gcc
need "command -v pkg-config" pkg-config
need "pkg-config --exists check" check
need "test -f /usr/include/stdio.h" libc6-dev
need "test -f /usr/include/linux/kvm.h" linux-libc-dev

if [ -n "$missing" ]; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "== installing build dependencies:$missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q >/dev/null
		# shellcheck disable=SC2086 # one word per package
		apt-get install -y -q --no-install-recommends $missing >/dev/null
	else
		echo "demo.sh: missing build dependencies:$missing" >&2
		echo "install them, for example as root:" >&2
		echo "    apt-get install$missing" >&2
		exit 1
	fi
else
	echo "== build dependencies: all present"
fi

# ---- 2. build ------------------------------------------------------------------

log=$top/build-demo.log
: >"$log"
if [ -f "$top/config.status" ]; then
	build=$top        # configured in the source tree already: use it
else
	build=$top/build-demo
fi
echo "== building libmemslot in ${build#"$top"/} (log: ${log#"$top"/})"
{
	{ [ -x configure ] || autoreconf -fi; } &&
	mkdir -p "$build" && cd "$build" &&
	{ [ -f Makefile ] || "$top/configure"; } &&
	make -j"$(nproc 2>/dev/null || echo 2)"
} >>"$log" 2>&1 || {
	tail -n 30 "$log" >&2
	echo "demo.sh: the build failed; see $log" >&2
	exit 1
}

# ---- 3. the tour -------------------------------------------------------------------

cd "$build"
exec sh "$top/examples/tour.sh"
