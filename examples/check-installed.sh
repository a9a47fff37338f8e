#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The library as its users get it: `make install` into a temporary
# directory, build examples/resize.c with nothing but
# `pkg-config --cflags --libs libmemslot`, and run it on the simulated
# kernel against the installed shared library.
#
# make check runs this from the top build directory, with $srcdir set to
# the source directory; it works in a VPATH build and under distcheck.
set -u
srcdir=${srcdir:-.}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/libmemslot-installed.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root

fail() {
	echo "FAIL: $*"
	exit 1
}

for tool in pkg-config "${CC:-cc}"; do
	command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: no $tool"; exit 77; }
done

echo "== make install DESTDIR=$root"
# A clean environment for the inner make: no variables from the outer one.
if ! (unset MAKEFLAGS MFLAGS; ${MAKE:-make} install DESTDIR="$root") \
	>"$tmp/install.log" 2>&1; then
	cat "$tmp/install.log"
	fail "make install"
fi
pc=$(find "$root" -name libmemslot.pc | head -n 1)
[ -n "$pc" ] || fail "libmemslot.pc was not installed"
pcdir=$(dirname "$pc")
libdir=$(dirname "$pcdir")
echo "installed: ${pc#"$root"}"
find "$root" -name 'libmemslot.so*' -o -name libmemslot.h | sed "s|^$root|installed: |"

echo "== pkg-config --cflags --libs libmemslot"
# Only the temporary tree; its paths are rewritten below $root.
PKG_CONFIG_LIBDIR=$pcdir
PKG_CONFIG_SYSROOT_DIR=$root
PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1
PKG_CONFIG_ALLOW_SYSTEM_LIBS=1
export PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR \
	PKG_CONFIG_ALLOW_SYSTEM_CFLAGS PKG_CONFIG_ALLOW_SYSTEM_LIBS
unset PKG_CONFIG_PATH
flags=$(pkg-config --cflags --libs libmemslot) || fail "pkg-config"
echo "$flags"
echo "version: $(pkg-config --modversion libmemslot)"

echo "== build examples/resize.c out of tree"
# CFLAGS and LDFLAGS from the environment, if any (a sanitizer build
# installs a library that needs its runtime linked first).
echo "${CC:-cc} -Wall -Wextra -Werror ${CFLAGS:-} -o resize resize.c backend.c $flags ${LDFLAGS:-}"
# shellcheck disable=SC2086 # word splitting of the flags is wanted
"${CC:-cc}" -Wall -Wextra -Werror ${CFLAGS:-} -o "$tmp/resize" \
	"$srcdir/examples/resize.c" "$srcdir/examples/backend.c" $flags \
	${LDFLAGS:-} || fail "the build against the installed library"

echo "== run it against the installed library"
LD_LIBRARY_PATH=$libdir
export LD_LIBRARY_PATH
lib=$(ldd "$tmp/resize" | grep libmemslot)
echo "ldd: $lib"
case $lib in
*"$root"*) ;;
*) fail "resize does not load the installed libmemslot" ;;
esac
out=$(MEMSLOT_EXAMPLE_BACKEND=sim "$tmp/resize" 2>&1)
rc=$?
printf '%s\n' "$out"
[ "$rc" -eq 0 ] || fail "resize exited with $rc"
[ "$(printf '%s\n' "$out" | head -n 1)" = "backend: simulated kernel" ] ||
	fail "unexpected first line"
echo "PASS: built and ran against the installed library"
