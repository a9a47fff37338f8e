#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Symbol-version gate (a `make check` test).  Checks that
#  1. the symbols exported by lib/.libs/libmemslot.so are exactly the
#     global: symbols of lib/libmemslot.sym;
#  2. every exported symbol carries a LIBMEMSLOT_ version, and the one of
#     the node that lists it in libmemslot.sym;
#  3. the version nodes defined in the library are the nodes of
#     libmemslot.sym, each node inheriting from the one before it;
#  4. the newest node is LIBMEMSLOT_<major>.<minor> of the package version
#     (PACKAGE_VERSION from the environment, else from ./config.h), and the
#     header's LIBMEMSLOT_VERSION_MAJOR/MINOR agree;
#  5. every exported call is declared in the public header.
#
# Run from the top build directory (the test harness does); $srcdir is the
# top source directory (exported by the harness).  LIBMEMSLOT_SO overrides
# the library checked.
set -u

srcdir=${srcdir:-.}
builddir=${top_builddir:-.}
so=${LIBMEMSLOT_SO:-$builddir/lib/.libs/libmemslot.so}
sym=$srcdir/lib/libmemslot.sym
hdr=$srcdir/include/libmemslot/libmemslot.h
NM=${NM:-nm}
READELF=${READELF:-readelf}

fail=0
err() { echo "FAIL: $*" >&2; fail=1; }

for t in "$NM" "$READELF" awk sort comm; do
	command -v "$t" >/dev/null 2>&1 || { echo "SKIP: $t not found"; exit 77; }
done
[ -f "$so" ] || { echo "ERROR: $so not found (build lib/libmemslot.la first)" >&2; exit 99; }
[ -f "$sym" ] || { echo "ERROR: $sym not found" >&2; exit 99; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-symbols.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/nodes"; : >"$tmp/parents"

# --- the version script: "symbol node" lines, and the node order ---------
# Comments (/* */ and #) are dropped; wildcards are refused in global:.
awk -v nodes="$tmp/nodes" -v parents="$tmp/parents" '
BEGIN { text = "" }
{ sub(/#.*/, ""); text = text " " $0 }
END {
	while ((i = index(text, "/*")) > 0) {
		j = index(substr(text, i + 2), "*/")
		if (j == 0) { print "ERROR unterminated comment"; exit 1 }
		text = substr(text, 1, i - 1) " " substr(text, i + 2 + j + 1)
	}
	gsub(/[{};:]/, " & ", text)
	n = split(text, tok, /[ \t\n]+/)
	node = ""; sect = ""; depth = 0; last = ""
	for (k = 1; k <= n; k++) {
		t = tok[k]
		if (t == "") continue
		if (depth == 0) {
			if (t == "{") { depth = 1; sect = "global"; continue }
			if (t == ";") { closed = 0; continue }
			if (node != "" && closed) {   # "} PARENT ;"
				print node, t > parents; closed = 0; continue
			}
			node = t; closed = 0
			print node > nodes
			continue
		}
		if (t == "}") { depth = 0; closed = 1; sect = ""; continue }
		if (t == ":") continue
		if (t == "global" || t == "local") { if (tok[k+1] == ":") { sect = t; continue } }
		if (t == ";") continue
		if (sect == "global") {
			if (t ~ /[*?\[]/) { print "ERROR wildcard " t " in global: of " node; continue }
			print t, node
		}
	}
}' "$sym" >"$tmp/script" || { err "cannot parse $sym"; exit 1; }
if grep '^ERROR' "$tmp/script" >&2; then
	err "$sym: see above"
fi
grep -v '^ERROR' "$tmp/script" | sort >"$tmp/script.pairs"
cut -d' ' -f1 "$tmp/script.pairs" | sort >"$tmp/script.names"
dups=$(uniq -d "$tmp/script.names")
[ -z "$dups" ] || err "listed more than once in $sym: $dups"
[ -s "$tmp/nodes" ] || err "no version node in $sym"

# --- the library --------------------------------------------------------
# nm -D prints "addr T name@@VERSION" (name@VERSION for a non-default
# version, bare name when unversioned); the version node itself is an
# absolute symbol named after the node.
"$NM" -D --defined-only --with-symbol-versions "$so" >"$tmp/nm" 2>"$tmp/nm.err" ||
	"$NM" -D --defined-only "$so" >"$tmp/nm" ||
	{ cat "$tmp/nm.err" >&2; exit 99; }
awk '
NF >= 3 {
	type = $2; name = $3; ver = ""
	if ((i = index(name, "@")) > 0) {
		ver = substr(name, i); name = substr(name, 1, i - 1)
		sub(/^@+/, "", ver)
	}
	if (type == "A" && (ver == "" || ver == name)) next   # version node
	print name, (ver == "" ? "-" : ver)
}' "$tmp/nm" | sort >"$tmp/lib.pairs"
cut -d' ' -f1 "$tmp/lib.pairs" | sort -u >"$tmp/lib.names"

# 1. Same set.
comm -23 "$tmp/lib.names" "$tmp/script.names" >"$tmp/extra"
comm -13 "$tmp/lib.names" "$tmp/script.names" >"$tmp/missing"
if [ -s "$tmp/extra" ]; then
	err "exported but not in $sym (hidden visibility or a version node missing?):"
	sed 's/^/    /' "$tmp/extra" >&2
fi
if [ -s "$tmp/missing" ]; then
	err "in $sym but not exported (MEMSLOT_EXPORT missing?):"
	sed 's/^/    /' "$tmp/missing" >&2
fi

# 2. Versions.
while read -r name ver; do
	case $ver in
	LIBMEMSLOT_*) ;;
	-) err "$name is exported without a version"; continue ;;
	*) err "$name has version $ver, not LIBMEMSLOT_*"; continue ;;
	esac
	want=$(awk -v n="$name" '$1 == n { print $2 }' "$tmp/script.pairs")
	[ -z "$want" ] || [ "$want" = "$ver" ] ||
		err "$name has version $ver in the library but is listed in node $want"
done <"$tmp/lib.pairs"
grep -q '@' "$tmp/nm" || err "no symbol versions in $so (linked without --version-script?)"

# 3. Nodes: those defined in the library (.gnu.version_d, minus the soname
# entry) are the nodes of the script; node n+1 inherits from node n.
"$READELF" -V -W "$so" | awk '
/Version definition section/ { d = 1; next }
/Version needs section/ || /Version symbols section/ { d = 0 }
d && /Name:/ && !/Flags: BASE/ { for (i = 1; i <= NF; i++) if ($i == "Name:") print $(i + 1) }
' >"$tmp/lib.nodes"
if ! cmp -s "$tmp/lib.nodes" "$tmp/nodes"; then
	err "version nodes differ: library has [$(tr '\n' ' ' <"$tmp/lib.nodes")], $sym has [$(tr '\n' ' ' <"$tmp/nodes")]"
fi
prev=
while read -r node; do
	case $node in
	LIBMEMSLOT_[0-9]*.[0-9]*) ;;
	*) err "node $node of $sym is not named LIBMEMSLOT_<major>.<minor>" ;;
	esac
	if [ -n "$prev" ]; then
		parent=$(awk -v n="$node" '$1 == n { print $2 }' "$tmp/parents")
		[ "$parent" = "$prev" ] ||
			err "node $node must inherit from the node before it: '} $prev;' (found '${parent:-nothing}')"
	fi
	prev=$node
done <"$tmp/nodes"
newest=$(sort -V "$tmp/nodes" | tail -n 1)
last=$(tail -n 1 "$tmp/nodes")
[ "$newest" = "$last" ] || err "nodes of $sym are not in release order (last $last, newest $newest)"

# 4. The package version.
version=${PACKAGE_VERSION:-}
if [ -z "$version" ] && [ -f "$builddir/config.h" ]; then
	version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$builddir/config.h")
fi
if [ -z "$version" ]; then
	err "package version unknown: no PACKAGE_VERSION and no $builddir/config.h"
else
	majmin=$(echo "$version" | sed -n 's/^\([0-9][0-9]*\)\.\([0-9][0-9]*\).*/\1.\2/p')
	if [ "LIBMEMSLOT_$majmin" != "$newest" ]; then
		err "package version $version wants newest node LIBMEMSLOT_$majmin, $sym has $newest"
		[ "$(printf '%s\n%s\n' "LIBMEMSLOT_$majmin" "$newest" | sort -V | tail -n 1)" = "$newest" ] ||
			echo "    (each minor release opens a node, empty if no call was added: LIBMEMSLOT_$majmin { global: ...; } $newest;)" >&2
	fi
	hmaj=$(sed -n 's/^#define LIBMEMSLOT_VERSION_MAJOR[ \t]*\([0-9]*\).*/\1/p' "$hdr")
	hmin=$(sed -n 's/^#define LIBMEMSLOT_VERSION_MINOR[ \t]*\([0-9]*\).*/\1/p' "$hdr")
	[ "$hmaj.$hmin" = "$majmin" ] ||
		err "libmemslot.h says $hmaj.$hmin, the package version is $version"
fi

# 5. Declared in the header.
while read -r name; do
	grep -Eq "[^A-Za-z0-9_]${name}[ \t]*\(" "$hdr" ||
		err "$name is exported but not declared in $hdr"
done <"$tmp/script.names"

n=$(wc -l <"$tmp/lib.names")
if [ $fail -ne 0 ]; then
	echo "check-symbols: FAIL ($so)"
	exit 1
fi
echo "check-symbols: $n symbols, nodes: $(tr '\n' ' ' <"$tmp/nodes")newest $newest, package $version: OK"
exit 0
