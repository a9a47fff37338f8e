#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# ABI gate (a `make check` test): compare the built library with the stored
# baseline abi/libmemslot.abi (abidw XML of the last release) using
# libabigail's abidiff.
#
#  - any change abidiff reports, other than added symbols, fails: removed or
#    changed calls, changed types, a new soname.  Appending fields at the end
#    of a struct with sz is compatible by design (see libmemslot.h) and is
#    suppressed by abi/libmemslot.suppr, nothing else is;
#  - an added symbol passes only in a version node newer than every node of
#    the baseline, and a symbol of the baseline keeps its version.
#
# Skipped (77) when abidiff/abidw are missing, or the library has no debug
# info (configure CFLAGS without -g); a failure instead when CI=true.
#
# How: abidw writes the current library's ABI with the options of the
# baseline (ABIDW_FLAGS below), and abidiff compares the two XML files
# twice: as the calls reach them, and with --non-reachable-types limited to
# the public header, so that its enums count too but the library's own
# types do not.  The
# public header directory is given to abidw (not to abidiff): abidiff's
# --headers-dir would also hide changes of system typedefs such as
# uint16_t -> uint32_t in a parameter.
#
# At a release, once the ABI is final, refresh the baseline from a -g build:
#     make abi-baseline
# which runs, in the build directory (see tests/abi/Makefile.inc):
#     abidw $ABIDW_FLAGS --headers-dir $(srcdir)/include/libmemslot \
#           --out-file $(srcdir)/abi/libmemslot.abi lib/.libs/libmemslot.so
# and commit abi/libmemslot.abi with the release.
#
# Run from the top build directory; $srcdir is the top source directory.
set -u

srcdir=${srcdir:-.}
builddir=${top_builddir:-.}
so=${LIBMEMSLOT_SO:-$builddir/lib/.libs/libmemslot.so}
baseline=${LIBMEMSLOT_ABI_BASELINE:-$srcdir/abi/libmemslot.abi}
suppr=$srcdir/abi/libmemslot.suppr
headers=$srcdir/include/libmemslot
current=$builddir/tests/abi/libmemslot-current.abi
ABIDIFF=${ABIDIFF:-abidiff}
ABIDW=${ABIDW:-abidw}
NM=${NM:-nm}
READELF=${READELF:-readelf}
# Keep in step with ABIDW_FLAGS in tests/abi/Makefile.inc.
ABIDW_FLAGS="--load-all-types --drop-private-types --no-corpus-path --no-comp-dir-path --short-locs"
# The structs that start with sz and may grow at their end (lib/abi.c).
SZ_STRUCTS="memslot_region memslot_vm_opts memslot_sim_opts memslot_caps memslot_error"

skip() {
	if [ "${CI:-}" = true ]; then
		echo "FAIL (CI=true): $*" >&2
		exit 1
	fi
	echo "SKIP: $*"
	exit 77
}

for t in "$ABIDIFF" "$ABIDW"; do
	command -v "$t" >/dev/null 2>&1 ||
		skip "$t not found (Debian: apt-get install abigail-tools)"
done
[ -f "$so" ] || { echo "ERROR: $so not found" >&2; exit 99; }
[ -f "$baseline" ] || { echo "ERROR: baseline $baseline not found" >&2; exit 99; }
"$READELF" -S -W "$so" 2>/dev/null | grep -q '\.debug_info' ||
	skip "$so has no debug info: configure with -g in CFLAGS (the default -g -O2)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-abidiff.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0

mkdir -p "$(dirname "$current")"
# shellcheck disable=SC2086
"$ABIDW" $ABIDW_FLAGS --headers-dir "$headers" --out-file "$current" "$so" ||
	{ echo "ERROR: abidw failed on $so" >&2; exit 99; }

# Pass 1: what the exported calls reach (system typedefs included).
# Pass 2: types no call reaches, for the enums of the public header; the
# library's own types (lib/*.h) are not ABI and are left out.
printf '[suppress_type]\n  source_location_not_in = libmemslot.h\n' >"$tmp/public.suppr"
set --
[ -f "$suppr" ] && set -- "$@" --suppressions "$suppr"
abidiff_pass() {
	"$ABIDIFF" "$@" "$baseline" "$current"
}

echo "\$ $ABIDIFF $* $baseline $current"
abidiff_pass "$@" >"$tmp/report" 2>&1
rc=$?
cat "$tmp/report"
echo "(abidiff exit status $rc)"
unreach="--non-reachable-types --suppressions $tmp/public.suppr"
echo "\$ $ABIDIFF $* $unreach $baseline $current"
# shellcheck disable=SC2086
abidiff_pass "$@" $unreach >"$tmp/report.u" 2>&1
rc_u=$?
cat "$tmp/report.u"
echo "(abidiff exit status $rc_u)"
rc=$((rc | rc_u))

# abidiff's status is a bit mask: 1 error, 2 usage error, 4 ABI change,
# 8 incompatible ABI change.
if [ $((rc & 3)) -ne 0 ]; then
	echo "ERROR: abidiff could not compare (status $rc)" >&2
	exit 99
fi
if [ $((rc & 8)) -ne 0 ]; then
	echo "FAIL: incompatible ABI change against $baseline" >&2
	fail=1
elif [ $((rc & 4)) -ne 0 ]; then
	# A change: acceptable only if it is nothing but added symbols.
	# shellcheck disable=SC2086
	{ abidiff_pass "$@" --no-added-syms && abidiff_pass "$@" $unreach --no-added-syms; } \
		>"$tmp/report2" 2>&1
	rc2=$?
	if [ $rc2 -ne 0 ]; then
		echo "FAIL: ABI change other than added symbols (status $rc2)" >&2
		fail=1
	fi
fi

# The suppression lets any change of the sz structs through except removed
# members and shrinking, so check them here: the members of the baseline
# must come first, unchanged (name, offset, type), and new members must
# start at or after the baseline's sizeof (a member in the old tail padding
# would be ignored, not refused with -E2BIG, by an older library).
awk -v STRUCTS="$SZ_STRUCTS" -f "$srcdir/tests/abi/sz-members.awk" "$baseline" >"$tmp/sz.base"
awk -v STRUCTS="$SZ_STRUCTS" -f "$srcdir/tests/abi/sz-members.awk" "$current" >"$tmp/sz.cur"
for s in $SZ_STRUCTS; do
	awk -v s="$s" '$1 == s { $2 = ""; print }' "$tmp/sz.base" >"$tmp/b"
	awk -v s="$s" '$1 == s { $2 = ""; print }' "$tmp/sz.cur" >"$tmp/c"
	if grep -q MISSING "$tmp/b" || ! [ -s "$tmp/b" ]; then
		echo "ERROR: struct $s not found in $baseline" >&2; exit 99
	fi
	if grep -q MISSING "$tmp/c" || ! [ -s "$tmp/c" ]; then
		echo "FAIL: struct $s is gone" >&2; fail=1; continue
	fi
	head -n 1 "$tmp/b" | grep -q "^$s  sz 0 size_t\$" ||
		{ echo "ERROR: struct $s does not start with size_t sz in $baseline" >&2; exit 99; }
	nb=$(wc -l <"$tmp/b")
	if ! head -n "$nb" "$tmp/c" | cmp -s - "$tmp/b"; then
		echo "FAIL: struct $s: the members of $baseline changed (only appending is compatible):" >&2
		diff "$tmp/b" "$tmp/c" | sed 's/^/    /' >&2
		fail=1
		continue
	fi
	bsize=$(awk -v s="$s" '$1 == s { print $2; exit }' "$tmp/sz.base")
	csize=$(awk -v s="$s" '$1 == s { print $2; exit }' "$tmp/sz.cur")
	tail -n +"$((nb + 1))" "$tmp/c" | while read -r _ name off type; do
		echo "appended: $s.$name ($type) at bit $off"
		if [ "$off" -lt "$bsize" ]; then
			echo "FAIL: $s.$name sits in the tail padding of the old struct" \
			     "(offset $off < old size $bsize bits): an older library" \
			     "would ignore it instead of refusing it with -E2BIG" >&2
			echo x >>"$tmp/padfail"
		fi
	done
	[ -f "$tmp/padfail" ] && fail=1
	[ "$csize" -ge "$bsize" ] || { echo "FAIL: struct $s shrank" >&2; fail=1; }
done

# Versions of added and kept symbols, from the ELF tables (names "sym VER").
sed -n "s/.*<elf-symbol name='\([^']*\)' version='\([^']*\)'.*is-defined='yes'.*/\1 \2/p" \
	"$baseline" | sort -u >"$tmp/base.pairs"
sed -n "s/.*<elf-symbol name='\([^']*\)' .*is-defined='yes'.*/\1/p" "$baseline" |
	sort -u >"$tmp/base.names"
[ -s "$tmp/base.names" ] || { echo "ERROR: no symbol in $baseline" >&2; exit 99; }
cut -d' ' -f2 "$tmp/base.pairs" | sort -u -V >"$tmp/base.nodes"
base_newest=$(tail -n 1 "$tmp/base.nodes")

"$NM" -D --defined-only "$so" | awk '
NF >= 3 {
	name = $3; ver = "-"
	if ((i = index(name, "@")) > 0) {
		ver = substr(name, i); name = substr(name, 1, i - 1); sub(/^@+/, "", ver)
	}
	if ($2 == "A" && (ver == "-" || ver == name)) next
	print name, ver
}' | sort -u >"$tmp/cur.pairs"

while read -r name ver; do
	if grep -qx "$name" "$tmp/base.names"; then
		old=$(awk -v n="$name" '$1 == n { print $2 }' "$tmp/base.pairs")
		[ "$old" = "$ver" ] ||
			{ echo "FAIL: $name moved from version ${old:-none} to $ver" >&2; fail=1; }
		continue
	fi
	echo "added: $name@$ver"
	case $ver in
	LIBMEMSLOT_*) ;;
	*) echo "FAIL: added symbol $name has no LIBMEMSLOT_ version" >&2; fail=1; continue ;;
	esac
	newest=$(printf '%s\n%s\n' "$base_newest" "$ver" | sort -V | tail -n 1)
	if [ "$ver" = "$base_newest" ] || [ "$newest" != "$ver" ] ||
	   grep -qx "$ver" "$tmp/base.nodes"; then
		echo "FAIL: added symbol $name is in $ver, a node of the baseline;" \
		     "new calls go into a new node after $base_newest" >&2
		fail=1
	fi
done <"$tmp/cur.pairs"

if [ $fail -ne 0 ]; then
	echo "check-abidiff: FAIL (baseline $baseline, newest node $base_newest)"
	echo "If the change is intended and compatible, see tests/abi/README.md."
	exit 1
fi
echo "check-abidiff: compatible with $baseline (newest node there: $base_newest)"
exit 0
