#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The public header compiles on its own, with every C and C++ compiler
# found, in strict modes, with -Wall -Wextra -pedantic -Werror: alone, with
# <linux/kvm.h> before it, with <linux/kvm.h> after it, and twice.  The
# header is used from the source tree exactly as installed
# (-I$srcdir/include, #include <libmemslot/libmemslot.h>); the pkg-config
# test checks the installed copy.  From C++, the calls must have C linkage.
#
# A compiler that is not installed is skipped; with CI=true gcc, g++,
# clang and clang++ are all required.  CC/CXX from the environment are
# tried as well.
set -u

srcdir=${srcdir:-.}
inc=$srcdir/include
hdr=$inc/libmemslot/libmemslot.h
[ -f "$hdr" ] || { echo "ERROR: $hdr not found" >&2; exit 99; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-header.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

WARN="-Wall -Wextra -pedantic -Werror -Wundef -Wshadow"
CWARN="$WARN -Wstrict-prototypes -Wmissing-prototypes"
CXXWARN="$WARN -Wold-style-cast -Wzero-as-null-pointer-constant"
C_STDS="c99 c11 c17 gnu99 gnu11"
CXX_STDS="c++11 c++14 c++17 c++20"

# Translation units: the header alone, around <linux/kvm.h>, included twice.
# Each uses the API a little, so that the declarations are really parsed.
body='
#ifdef __cplusplus
#define NIL nullptr
#else
#define NIL ((void *)0)
#endif
static int cb(const struct memslot_region *r, void *opaque)
{
	(void)opaque;
	return r->slot == MEMSLOT_ANY_SLOT;
}

int use_api(void);
int use_api(void)
{
	struct memslot_vm_opts o;
	struct memslot_region r;
	struct memslot_caps c;
	struct memslot_error e;
	struct memslot_sim_opts so;
	struct memslot_sim *sim = NIL;
	struct memslot_vm *vm = NIL;
	enum memslot_mode m = MEMSLOT_MODE_AUTO;
	ssize_t n = 0;
	int (*fp)(int, const struct memslot_vm_opts *, struct memslot_vm **) = memslot_vm_new;

	memset(&o, 0, sizeof(o));
	memset(&r, 0, sizeof(r));
	memset(&c, 0, sizeof(c));
	memset(&e, 0, sizeof(e));
	memset(&so, 0, sizeof(so));
	so.sz = sizeof(so);
	o.sz = sizeof(o);
	o.mode = m;
	o.ioctl = memslot_sim_ioctl;
	o.flags = MEMSLOT_VM_HOLD_DELETED_IDS;
	r.flags = MEMSLOT_LOG_DIRTY_PAGES | MEMSLOT_READONLY | MEMSLOT_GUEST_MEMFD;
	e.flags = MEMSLOT_ERROR_QUIESCE | MEMSLOT_ERROR_ROLLBACK |
		  MEMSLOT_ERROR_ROLLBACK_FAILED | MEMSLOT_ERROR_VIEW_UNCERTAIN;
	if (memslot_sim_new(&so, &sim) || fp(-1, &o, &vm))
		return 1;
	n = memslot_txn_encode(NIL, NIL, 0);
	(void)memslot_vm_foreach(vm, cb, NIL);
	(void)memslot_sim_count(sim, MEMSLOT_SIM_ALL);
	(void)memslot_strerror(-22);
	memslot_vm_free(vm);
	memslot_sim_free(sim);
	return (n < 0) + LIBMEMSLOT_VERSION_MAJOR + LIBMEMSLOT_VERSION_MINOR;
}
'
printf '#include <libmemslot/libmemslot.h>\n#include <string.h>\n%s' "$body" >"$tmp/alone.in"
printf '#include <linux/kvm.h>\n#include <libmemslot/libmemslot.h>\n#include <string.h>\n%s' "$body" >"$tmp/kvm-before.in"
printf '#include <libmemslot/libmemslot.h>\n#include <linux/kvm.h>\n#include <string.h>\n%s' "$body" >"$tmp/kvm-after.in"
printf '#include <libmemslot/libmemslot.h>\n#include <libmemslot/libmemslot.h>\n#include <string.h>\n%s' "$body" >"$tmp/twice.in"
# The very first line: nothing may be needed before the header.
printf '#include <libmemslot/libmemslot.h>\nstruct memslot_region r0 = { sizeof(struct memslot_region), 0, 0, 0, 0, 0, 0, 0, 0, 0 };\n' >"$tmp/first.in"
UNITS="alone kvm-before kvm-after twice first"

pass=0 failed=0 skipped=
tried_c=0 tried_cxx=0

compile() { # compiler lang std unit
	cc=$1 lang=$2 std=$3 unit=$4
	if [ "$lang" = c ]; then
		ext=c flags=$CWARN
	else
		ext=cc flags=$CXXWARN
	fi
	cp "$tmp/$unit.in" "$tmp/$unit.$ext"
	# shellcheck disable=SC2086
	if "$cc" -std="$std" $flags -I"$inc" -c "$tmp/$unit.$ext" \
	       -o "$tmp/$unit.o" >"$tmp/log" 2>&1; then
		pass=$((pass + 1))
		if [ "$lang" = c++ ] && [ "$unit" = alone ]; then
			# C linkage: the references are not mangled.
			if ! nm -u "$tmp/$unit.o" | grep -q ' memslot_vm_new$'; then
				echo "FAIL: $cc -std=$std: memslot_vm_new does not have C linkage" >&2
				nm -u "$tmp/$unit.o" | grep memslot >&2
				failed=$((failed + 1))
			fi
		fi
	else
		echo "FAIL: $cc -std=$std $flags ($unit):" >&2
		sed 's/^/    /' "$tmp/log" >&2
		failed=$((failed + 1))
	fi
}

seen=
for cc in gcc clang ${CC:-}; do
	case " $seen " in *" $cc "*) continue ;; esac
	seen="$seen $cc"
	if ! command -v "$cc" >/dev/null 2>&1; then skipped="$skipped $cc"; continue; fi
	tried_c=$((tried_c + 1))
	for std in $C_STDS; do
		for u in $UNITS; do compile "$cc" c "$std" "$u"; done
	done
	echo "$cc ($("$cc" --version | head -n 1)): C $C_STDS done"
done
for cxx in g++ clang++ ${CXX:-}; do
	case " $seen " in *" $cxx "*) continue ;; esac
	seen="$seen $cxx"
	if ! command -v "$cxx" >/dev/null 2>&1; then skipped="$skipped $cxx"; continue; fi
	tried_cxx=$((tried_cxx + 1))
	for std in $CXX_STDS; do
		for u in $UNITS; do compile "$cxx" c++ "$std" "$u"; done
	done
	echo "$cxx ($("$cxx" --version | head -n 1)): C++ $CXX_STDS done"
done

kvm=$(printf '#include <linux/kvm.h>\nKVM_API_VERSION\n' | ${CC:-cc} -E -P - 2>/dev/null | tail -n 1)
[ -n "$kvm" ] && echo "<linux/kvm.h>: KVM_API_VERSION $kvm ($(dpkg-query -W -f='${Package} ${Version}' linux-libc-dev 2>/dev/null || echo 'version unknown'))"

echo "$pass passed, $failed failed${skipped:+ (not installed:$skipped)}"
if [ -n "$skipped" ] && [ "${CI:-}" = true ]; then
	case "$skipped" in
	*gcc*|*g++*|*clang*) echo "FAIL (CI=true): compilers missing:$skipped" >&2; exit 1 ;;
	esac
fi
[ $failed -eq 0 ] || exit 1
[ $tried_c -gt 0 ] || { echo "SKIP: no C compiler"; exit 77; }
exit 0
