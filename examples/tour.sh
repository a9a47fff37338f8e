#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# A short tour of libmemslot through its examples.  It builds nothing: run
# it after `make`, from the build directory (examples/demo.sh does both).
# The examples use /dev/kvm when it is usable and the simulated kernel
# otherwise; MEMSLOT_EXAMPLE_BACKEND=sim (or kvm, sim-6.1, sim-batch,
# sim-1as) chooses.  Exits non-zero as soon as an example fails.
set -u
here=$(dirname "$0")
if [ -n "${MEMSLOT_EXAMPLES_DIR:-}" ]; then
	bin=$MEMSLOT_EXAMPLES_DIR
elif [ -x ./examples/resize ]; then
	bin=./examples
elif [ -x "$here/resize" ]; then
	bin=$here
else
	echo "tour.sh: no built examples here: run \`make\` first, then this" \
	     "script from the build directory" >&2
	exit 1
fi

step=0
heading() {
	step=$((step + 1))
	printf '\n=== %d. %s\n' "$step" "$1"
	shift
	for line in "$@"; do
		printf '    %s\n' "$line"
	done
	printf '\n'
}

run() {
	"$bin/$1" || {
		echo "tour: examples/$1 failed" >&2
		exit 1
	}
}

echo "libmemslot tour: changing KVM memory slots in transactions"
echo "(each step is one program of examples/; read its source alongside)"

heading "resize: grow and shrink RAM" \
	"KVM cannot resize a slot in place: delete it and create it again," \
	"in one transaction; quiesce() stops the vCPUs around the hole."
run resize

heading "resize on a kernel with the batch ioctl (simulated)" \
	"The same program; the whole transaction is one ioctl, no hole opens."
MEMSLOT_EXAMPLE_BACKEND=sim-batch run resize

heading "hotplug: memory blocks with library-chosen slot ids" \
	"An id being deleted is not reused in the same transaction."
run hotplug

heading "dirty-log: start and stop dirty logging on every slot" \
	"Flags changes open no hole: quiesce() is not called."
run dirty-log

heading "live-guest: remap the memory of a running guest" \
	"quiesce()/resume() stop the vCPU only for commits that open a hole."
run live-guest

heading "encode: the batch a transaction becomes, byte by byte" \
	"struct kvm_userspace_memory_region_list, as memslot_txn_encode() writes it."
run encode

printf '\ntour: all examples passed\n'
