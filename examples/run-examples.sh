#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Run every example on each kind of simulated kernel, then the tour on the
# simulated kernel.  Each run must exit 0 and print "backend: simulated
# kernel" first.  make check runs this from the top build directory, with
# $srcdir set to the source directory.
set -u
srcdir=${srcdir:-.}
examples="resize hotplug dirty-log live-guest encode"
variants="sim sim-6.1 sim-batch sim-1as"
failed=0

for v in $variants; do
	for e in $examples; do
		echo "=== $e, MEMSLOT_EXAMPLE_BACKEND=$v"
		out=$(MEMSLOT_EXAMPLE_BACKEND=$v "./examples/$e" 2>&1)
		rc=$?
		printf '%s\n' "$out"
		first=$(printf '%s\n' "$out" | head -n 1)
		if [ "$rc" -ne 0 ]; then
			echo "FAIL: $e on $v exited with $rc"
			failed=1
		elif [ "$first" != "backend: simulated kernel" ]; then
			echo "FAIL: $e on $v: first line is '$first'"
			failed=1
		fi
	done
done

echo "=== examples/tour.sh, MEMSLOT_EXAMPLE_BACKEND=sim"
if ! MEMSLOT_EXAMPLE_BACKEND=sim sh "$srcdir/examples/tour.sh"; then
	echo "FAIL: the tour"
	failed=1
fi
exit $failed
