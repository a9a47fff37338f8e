#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Run every example on the real /dev/kvm.  Skipped (77) when /dev/kvm is
# missing or cannot create a VM: the examples say why.  make check runs
# this from the top build directory.
set -u
examples="resize hotplug dirty-log live-guest encode"
failed=0

for e in $examples; do
	echo "=== $e, MEMSLOT_EXAMPLE_BACKEND=kvm"
	out=$(MEMSLOT_EXAMPLE_BACKEND=kvm "./examples/$e" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	if [ "$rc" -eq 77 ]; then
		echo "SKIP: /dev/kvm is not usable here"
		exit 77
	fi
	first=$(printf '%s\n' "$out" | head -n 1)
	if [ "$rc" -ne 0 ]; then
		echo "FAIL: $e on /dev/kvm exited with $rc"
		failed=1
	elif [ "$first" != "backend: /dev/kvm" ]; then
		echo "FAIL: $e: first line is '$first'"
		failed=1
	fi
done
exit $failed
