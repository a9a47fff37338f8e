#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# pkg-config consumer test: `make install DESTDIR=<tmp>`, then check what was
# installed (the .pc file, exactly one public header, the shared library
# and no internals), build a program with nothing but
# `pkg-config --cflags --libs libmemslot`, and run it against the installed
# library (LD_LIBRARY_PATH), checking that it is that library which ran.
#
# Run from the top build directory ($top_builddir overrides); $srcdir is
# the top source directory.  MAKE, CC, CXX and PKG_CONFIG from the
# environment are used when set.  Skipped (77) without pkg-config or a C
# compiler; a failure instead when CI=true.
set -u

srcdir=${srcdir:-.}
top_builddir=${top_builddir:-.}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
CC=${CC:-cc}

skip() {
	if [ "${CI:-}" = true ]; then echo "FAIL (CI=true): $*" >&2; exit 1; fi
	echo "SKIP: $*"; exit 77
}
command -v "$PKG_CONFIG" >/dev/null 2>&1 || skip "pkg-config not found"
command -v "$CC" >/dev/null 2>&1 || skip "no C compiler ($CC)"

version=${PACKAGE_VERSION:-}
[ -n "$version" ] || [ ! -f "$top_builddir/config.h" ] ||
	version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$top_builddir/config.h")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-pkgconfig.XXXXXX") || exit 99
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
dest=$tmp/dest
fail=0
err() { echo "FAIL: $*" >&2; fail=1; }

# The harness runs inside `make check`: do not pass its TESTS etc. down.
# shellcheck disable=SC2086 # MAKE may carry arguments
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL ${MAKE:-make} -C "$top_builddir" \
	install DESTDIR="$dest" >"$tmp/install.log" 2>&1; then
	cat "$tmp/install.log" >&2
	echo "ERROR: make install DESTDIR=$dest failed" >&2
	exit 99
fi

pcs=$(find "$dest" -name 'libmemslot.pc')
[ "$(echo "$pcs" | grep -c .)" -eq 1 ] || { err "expected one libmemslot.pc, found: $pcs"; exit 1; }
pcdir=$(dirname "$pcs")
echo "installed: ${pcs#"$dest"}"

# Only this .pc, with sysroot = DESTDIR: paths in it get the prefix.
export PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_LIBDIR="$pcdir" PKG_CONFIG_SYSROOT_DIR="$dest"
unset PKG_CONFIG_ALLOW_SYSTEM_CFLAGS PKG_CONFIG_ALLOW_SYSTEM_LIBS

"$PKG_CONFIG" --exists --print-errors libmemslot || { err "pkg-config cannot use libmemslot.pc"; exit 1; }
if "$PKG_CONFIG" --help 2>&1 | grep -q -- --validate; then
	"$PKG_CONFIG" --validate libmemslot || err "libmemslot.pc does not validate"
fi
modver=$("$PKG_CONFIG" --modversion libmemslot)
[ -z "$version" ] || [ "$modver" = "$version" ] || err "Version: $modver, package $version"
cflags=$("$PKG_CONFIG" --cflags libmemslot)
libs=$("$PKG_CONFIG" --libs libmemslot)
echo "pkg-config --modversion: $modver"
echo "pkg-config --cflags: $cflags"
echo "pkg-config --libs: $libs"
case " $libs " in *" -lmemslot "*) ;; *) err "--libs lacks -lmemslot" ;; esac
"$PKG_CONFIG" --print-requires libmemslot | grep -q . && err "unexpected Requires: $("$PKG_CONFIG" --print-requires libmemslot)"

includedir=$dest$("$PKG_CONFIG" --variable=includedir libmemslot | sed "s|^$dest||")
libdir=$dest$("$PKG_CONFIG" --variable=libdir libmemslot | sed "s|^$dest||")

# Installed files: one header in includedir/libmemslot, the shared library
# with its soname link, nothing internal, no static archive.
( cd "$includedir" && find . -type f -o -type l ) | sort >"$tmp/headers"
printf './libmemslot/libmemslot.h\n' | cmp -s - "$tmp/headers" ||
	{ err "installed headers differ from libmemslot/libmemslot.h:"; sed 's/^/    /' "$tmp/headers" >&2; }
cmp -s "$includedir/libmemslot/libmemslot.h" "$srcdir/include/libmemslot/libmemslot.h" ||
	err "installed libmemslot.h differs from include/libmemslot/libmemslot.h"
soname=$(readelf -d "$libdir/libmemslot.so" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ -z "$soname" ] || [ ! -e "$libdir/$soname" ]; then
	err "no $libdir/<soname> (soname '$soname')"
fi
echo "soname: $soname"
for f in "$libdir"/*; do
	case ${f##*/} in
	libmemslot.so|libmemslot.so.*|libmemslot.la|pkgconfig) ;;
	*) err "unexpected file in libdir: ${f##*/}" ;;
	esac
done
find "$dest" -name '*.a' | grep . && err "static archives installed"
find "$dest" -name 'internal.h' -o -name 'kvm-compat.h' -o -name '*core*' | grep . &&
	err "internals installed"

# A consumer that knows nothing but pkg-config.
cat >"$tmp/consumer.c" <<'EOC'
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <libmemslot/libmemslot.h>

/* The path of the libmemslot this process loaded, from /proc/self/maps. */
static int loaded_from(const char *prefix)
{
	char line[4096];
	FILE *f = fopen("/proc/self/maps", "r");
	int found = 0, other = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, '/');

		if (!p || !strstr(p, "/libmemslot.so"))
			continue;
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			found = 1;
		else
			other = 1;
	}
	fclose(f);
	return found && !other;
}

int main(int argc, char **argv)
{
	struct memslot_sim *sim;
	struct memslot_vm *vm;
	struct memslot_txn *txn;
	struct memslot_vm_opts o = { sizeof(o), MEMSLOT_MODE_AUTO, 0, memslot_sim_ioctl, 0, 0, 0, 0 };
	struct memslot_region r = { sizeof(r), 0, 0, 0, 0x100000, 0x10000, 0x10000000, 0, 0, 0 };
	struct memslot_region out = { sizeof(out), 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	int err;

	if (argc != 2)
		return 2;
	if ((err = memslot_sim_new(NULL, &sim)))
		return fprintf(stderr, "sim_new: %s\n", memslot_strerror(err)), 1;
	o.ioctl_opaque = sim;
	if ((err = memslot_vm_new(-1, &o, &vm)) || (err = memslot_txn_begin(vm, &txn)) ||
	    (err = memslot_txn_add(txn, &r, NULL)) || (err = memslot_txn_commit(txn, NULL)) ||
	    (err = memslot_vm_find(vm, 0, 0, &out)))
		return fprintf(stderr, "memslot: %s\n", memslot_strerror(err)), 1;
	if (out.memory_size != 0x10000 || memslot_vm_count(vm) != 1)
		return fprintf(stderr, "wrong view\n"), 1;
	memslot_vm_free(vm);
	memslot_sim_free(sim);
	if (!loaded_from(argv[1]))
		return fprintf(stderr, "libmemslot was not loaded from %s\n", argv[1]), 1;
	printf("consumer: one slot committed through libmemslot %d.%d from %s\n",
	       LIBMEMSLOT_VERSION_MAJOR, LIBMEMSLOT_VERSION_MINOR, argv[1]);
	return 0;
}
EOC
# shellcheck disable=SC2086
if ! $CC -Wall -Wextra -Werror $cflags -o "$tmp/consumer" "$tmp/consumer.c" $libs \
	>"$tmp/cc.log" 2>&1; then
	err "building the consumer with pkg-config failed:"; cat "$tmp/cc.log" >&2
else
	echo "\$ $CC \$(pkg-config --cflags --libs libmemslot) consumer.c: OK"
	LD_LIBRARY_PATH="$libdir" "$tmp/consumer" "$libdir/" || err "the consumer failed"
fi

# The same from C++, when a C++ compiler is there.
CXX=${CXX:-c++}
if command -v "$CXX" >/dev/null 2>&1; then
	cp "$tmp/consumer.c" "$tmp/consumer.cc"
	# shellcheck disable=SC2086
	if $CXX -Wall -Wextra -Werror $cflags -o "$tmp/consumer++" "$tmp/consumer.cc" $libs \
		>"$tmp/cxx.log" 2>&1; then
		LD_LIBRARY_PATH="$libdir" "$tmp/consumer++" "$libdir/" >/dev/null ||
			err "the C++ consumer failed"
		echo "C++ consumer ($CXX): OK"
	else
		err "building the C++ consumer with pkg-config failed:"; cat "$tmp/cxx.log" >&2
	fi
fi

if [ $fail -ne 0 ]; then echo "check-pkgconfig: FAIL"; exit 1; fi
echo "check-pkgconfig: OK"
exit 0
