#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Runs inside the guest (see run-in-qemu.sh): KVM's own memslot selftests from
# the patched source tree, showing the single-slot path is unharmed.  Each
# result is appended to $BATCHTEST_EXTRA for batchtest to count.
out=${BATCHTEST_EXTRA:-/dev/null}
run() {
	name=$1; shift
	echo "guest: selftest $name $*"
	if /tests/$name "$@" </dev/null; then
		echo "PASS selftest $name $*" >>"$out"
	else
		echo "FAIL selftest $name $* (exit $?)" >>"$out"
	fi
}
run set_memory_region_test
run memslot_modification_stress_test -b 64M -v 2 -i 100
exit 0
