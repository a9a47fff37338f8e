#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Checks the manual pages (run by `make check`; also by hand from any
# directory: srcdir defaults to the tree this script is in).
#
#  1. every page lints clean: `groff -ww -z -man` (default device and
#     -Tutf8) prints nothing, and `mandoc -Tlint -Wwarning` (when mandoc is
#     installed) reports nothing;
#  2. every ".so" link page is one line naming an existing page;
#  3. every exported symbol of lib/libmemslot.sym (between "global:" and
#     "local:") has a page, named after it or a ".so" link to the page
#     that documents it, and that page lists it in its NAME section;
#  4. every page is installed (listed in man/Makefile.inc).
#
# Exit status: 0 pass, 1 fail, 77 skip (groff missing: nothing can be
# linted; the symbol checks still ran and passed).

set -u

: "${srcdir:=$(dirname "$0")/..}"
mandir="$srcdir/man"
symfile="$srcdir/lib/libmemslot.sym"
fragment="$mandir/Makefile.inc"

fail=0
err() {
	echo "check-man: FAIL: $*" >&2
	fail=1
}

for f in "$symfile" "$fragment"; do
	if [ ! -r "$f" ]; then
		echo "check-man: cannot read $f (srcdir=$srcdir)" >&2
		exit 1
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-man.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT HUP INT TERM

# Pages and link pages.
pages=
links=
for p in "$mandir"/*.[1-9]; do
	[ -f "$p" ] || continue
	if head -n 1 "$p" | grep -q '^\.so '; then
		links="$links $p"
	else
		pages="$pages $p"
	fi
done
if [ -z "$pages" ]; then
	err "no manual pages in $mandir"
	exit 1
fi

# The section-N page that documents name (following one .so link), or
# nothing.
page_of() {
	for s in 3 7; do
		f="$mandir/$1.$s"
		[ -f "$f" ] || continue
		if head -n 1 "$f" | grep -q '^\.so '; then
			t=$(sed -n '1s|^\.so  *man[1-9]/||p' "$f")
			f="$mandir/$t"
		fi
		[ -f "$f" ] && echo "$f"
		return 0
	done
}

# 2. Link pages.
for l in $links; do
	n=$(wc -l < "$l")
	target=$(sed -n '1s|^\.so  *\(man[1-9]/[A-Za-z0-9_.-]*\)$|\1|p' "$l")
	if [ "$n" -ne 1 ] || [ -z "$target" ]; then
		err "$l: a link page must be the single line '.so manN/page.N'"
		continue
	fi
	base=${target#*/}
	sec=${target%%/*}
	sec=${sec#man}
	case $base in
	*."$sec") ;;
	*) err "$l: $target: the page's suffix is not its section $sec" ;;
	esac
	if [ ! -f "$mandir/$base" ]; then
		err "$l: $target: no page $base in man/"
	elif head -n 1 "$mandir/$base" | grep -q '^\.so '; then
		err "$l: $target is itself a link page"
	fi
done

# 3. Exported symbols.
syms=$(sed -n '/^[[:space:]]*global:/,/^[[:space:]]*local:/p' "$symfile" |
	sed -e '/global:/d' -e '/local:/d' -e 's/[[:space:];]//g' -e '/^$/d')
if [ -z "$syms" ]; then
	err "no exported symbols found in $symfile"
fi
nsyms=0
for s in $syms; do
	nsyms=$((nsyms + 1))
	p=$(page_of "$s")
	if [ -z "$p" ]; then
		err "exported symbol $s has no manual page (man/$s.3 or a .so link)"
		continue
	fi
	# The NAME section: from ".SH NAME" to the next ".SH".
	if ! sed -n '/^\.SH  *"\{0,1\}NAME/,/^\.SH  *"\{0,1\}SYNOPSIS/p' "$p" |
		sed 's/\\-/-/g; s/\\f[BIRP]//g' | grep -q "\\<$s\\>"; then
		err "$s: its page $(basename "$p") does not name it in NAME"
	fi
	if ! grep -q "$s" "$p"; then
		err "$s: not mentioned in $(basename "$p")"
	fi
done

# 4. Installed pages.
for p in $pages $links; do
	b=$(basename "$p")
	if ! grep -q "man/$b\\>" "$fragment"; then
		err "$b is not listed in man/Makefile.inc (it would not be installed)"
	fi
done

# 1. Lint.
if ! command -v groff >/dev/null 2>&1; then
	echo "check-man: groff not found: lint skipped" >&2
	[ "$fail" -eq 0 ] && exit 77
	exit 1
fi
npages=0
for p in $pages; do
	npages=$((npages + 1))
	b=$(basename "$p")
	for dev in "" -Tutf8; do
		# shellcheck disable=SC2086 # dev is empty or one word
		LC_ALL=C groff -ww -z -man $dev "$p" > "$tmp/out" 2>&1
		rc=$?
		if [ "$rc" -ne 0 ] || [ -s "$tmp/out" ]; then
			err "groff -ww -z -man $dev $b (exit $rc):"
			sed 's/^/    /' "$tmp/out" >&2
		fi
	done
	# Non-ASCII bytes render differently per locale: use escapes.
	if LC_ALL=C grep -n '[^ -~	]' "$p" > "$tmp/out"; then
		err "$b: non-ASCII characters (use groff escapes):"
		sed 's/^/    /' "$tmp/out" >&2
	fi
done
if command -v mandoc >/dev/null 2>&1; then
	for p in $pages; do
		b=$(basename "$p")
		mandoc -Tlint -Wwarning "$p" > "$tmp/out" 2>&1
		rc=$?
		if [ "$rc" -ne 0 ] || [ -s "$tmp/out" ]; then
			err "mandoc -Tlint -Wwarning $b (exit $rc):"
			sed 's/^/    /' "$tmp/out" >&2
		fi
	done
	mandoc_note="mandoc -Tlint"
else
	mandoc_note="mandoc not found, skipped"
fi

if [ "$fail" -ne 0 ]; then
	exit 1
fi
echo "check-man: $npages pages linted (groff -ww; $mandoc_note)," \
	"$nsyms exported symbols all documented"
exit 0
