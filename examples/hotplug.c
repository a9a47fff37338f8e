/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hotplug: plug and unplug memory blocks, letting libmemslot choose the
 * slot ids (MEMSLOT_ANY_SLOT: the lowest free id).
 *
 * An id whose slot is deleted by the open transaction is in quarantine
 * until the commit returns: a block plugged in the same transaction gets
 * a fresh id, so the kernel never sees one id stand for two slots in one
 * commit (with the batch ioctl, or with a dirty ring still holding
 * entries of the old slot).  After the commit the id is free again.
 */
#include "backend.h"

#define MiB (1024ull * 1024)
#define GiB (1024 * MiB)
#define BLOCK (128 * MiB)        /* Linux's memory block size on x86 */
#define NR_BLOCKS 12
#define HOTPLUG_BASE (4 * GiB)   /* hotplug area, above boot RAM */

static char *area;               /* host memory behind the hotplug area */
static uint16_t id_of[NR_BLOCKS];

/* Queue the plug of block i (an id is chosen) and say which id it got. */
static void plug(struct memslot_txn *txn, int i)
{
	struct memslot_region r = region(MEMSLOT_ANY_SLOT,
					 HOTPLUG_BASE + i * BLOCK, BLOCK,
					 area + i * BLOCK, 0);

	CHECK(memslot_txn_add(txn, &r, &id_of[i]));
	printf("  plug   block %2d at gpa 0x%" PRIx64 ": got slot %u\n", i,
	       r.guest_phys_addr, id_of[i]);
}

static void unplug(struct memslot_txn *txn, int i)
{
	CHECK(memslot_txn_delete(txn, 0, id_of[i]));
	printf("  unplug block %2d: delete slot %u\n", i, id_of[i]);
}

int main(void)
{
	struct memslot_vm_opts opts = { .sz = sizeof(opts) };
	struct memslot_region boot;
	struct memslot_txn *txn;
	struct memslot_vm *vm;
	struct backend b;
	uint16_t boot_id;
	void *ram;

	backend_open(&b);
	vm = backend_vm_new(&b, &opts);
	ram = guest_memory(256 * MiB);
	area = guest_memory(NR_BLOCKS * BLOCK);

	printf("\nboot RAM, and blocks 0-7 plugged, in one transaction\n");
	CHECK(memslot_txn_begin(vm, &txn));
	boot = region(MEMSLOT_ANY_SLOT, 0, 256 * MiB, ram, 0);
	CHECK(memslot_txn_add(txn, &boot, &boot_id));
	printf("  boot RAM at gpa 0: got slot %u\n", boot_id);
	for (int i = 0; i < 8; i++)
		plug(txn, i);
	b.trace = 0;   /* eight creates: the counts below say enough */
	commit_or_die(&b, txn);
	b.trace = 1;
	check_view(&b, vm);
	EXPECT(boot_id == 0 && id_of[0] == 1 && id_of[7] == 8,
	       "ids should be 0, then 1 to 8");
	printf("  %d slots in the table\n", memslot_vm_count(vm));

	printf("\nunplug blocks 2 and 3, plug blocks 8 and 9, in one "
	       "transaction\n");
	CHECK(memslot_txn_begin(vm, &txn));
	unplug(txn, 2);
	unplug(txn, 3);
	plug(txn, 8);
	plug(txn, 9);
	/* Slots 3 and 4 are being deleted: in quarantine until commit. */
	EXPECT(id_of[8] == 9 && id_of[9] == 10,
	       "ids being deleted must not be reused in the transaction");
	printf("  -> slots 3 and 4 are being deleted, so the new blocks got "
	       "9 and 10\n");
	show_canonical(vm, txn);
	commit_or_die(&b, txn);
	check_view(&b, vm);

	printf("\nafter the commit, plug blocks 10 and 11\n");
	CHECK(memslot_txn_begin(vm, &txn));
	plug(txn, 10);
	plug(txn, 11);
	EXPECT(id_of[10] == 3 && id_of[11] == 4,
	       "freed ids should be reused after the commit");
	printf("  -> slots 3 and 4 are free again and are reused\n");
	show_canonical(vm, txn);
	commit_or_die(&b, txn);
	check_view(&b, vm);

	printf("\nunplug every block, in one transaction\n");
	CHECK(memslot_txn_begin(vm, &txn));
	for (int i = 0; i < NR_BLOCKS; i++)
		if (i != 2 && i != 3)
			CHECK(memslot_txn_delete(txn, 0, id_of[i]));
	printf("  %d deletes queued\n", memslot_txn_count(txn));
	b.trace = 0;
	commit_or_die(&b, txn);
	b.trace = 1;
	check_view(&b, vm);
	show_table(vm, "  table: ");
	EXPECT(memslot_vm_count(vm) == 1, "only boot RAM should remain");

	memslot_vm_free(vm);
	backend_close(&b);
	printf("hotplug: OK\n");
	return 0;
}
