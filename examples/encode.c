/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * encode: print the batch a transaction becomes, byte by byte.
 *
 * memslot_txn_encode() writes the canonical list in the format of the
 * batch ioctl proposed in 2022 (KVM_SET_USER_MEMORY_REGION_LIST, never
 * merged): struct kvm_userspace_memory_region_list, an 8-byte header
 * (nent, flags), then one 64-byte struct kvm_userspace_memory_region_entry
 * per request.  A VMM can log it, or submit it through its own path.
 * On a kernel with the batch ioctl, the commit sends exactly these bytes.
 */
#include <stdarg.h>
#include <string.h>

#include "backend.h"

#define MiB (1024ull * 1024)
#define GiB (1024 * MiB)

/* Print n bytes at buf + off as one annotated line. */
static void field(const unsigned char *buf, size_t off, size_t n,
		  const char *name, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void field(const unsigned char *buf, size_t off, size_t n,
		  const char *name, const char *fmt, ...)
{
	va_list ap;
	int col = 0;

	col += printf("  %04zx:", off);
	for (size_t i = 0; i < n; i++)
		col += printf(" %02x", buf[off + i]);
	printf("%*s%-16s ", col < 34 ? 34 - col : 1, "", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static uint32_t u32_at(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t u64_at(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static void dump(const struct memslot_vm *vm, const unsigned char *buf,
		 size_t len)
{
	uint32_t nent = u32_at(buf);

	printf("struct kvm_userspace_memory_region_list, %zu bytes "
	       "(8 + %u x 64):\n", len, nent);
	field(buf, 0, 4, "nent", "%u entries", nent);
	field(buf, 4, 4, "flags", "0x%x (must be 0)", u32_at(buf + 4));
	for (uint32_t i = 0; i < nent; i++) {
		size_t o = 8 + (size_t)i * 64;
		const unsigned char *e = buf + o;
		uint32_t slot = u32_at(e);
		uint64_t size = u64_at(e + 16);
		int pad = 0;

		printf("entry %u: %s\n", i, list_entry_kind(vm, buf, i));
		field(buf, o, 4, "slot", "as_id %u << 16 | id %u",
		      slot >> 16, slot & 0xffff);
		field(buf, o + 4, 4, "flags", "%s", flags_str(u32_at(e + 4)));
		field(buf, o + 8, 8, "guest_phys_addr", "0x%" PRIx64,
		      u64_at(e + 8));
		field(buf, o + 16, 8, "memory_size", "%s%s", size_str(size),
		      size ? "" : " (delete)");
		field(buf, o + 24, 8, "userspace_addr", "0x%" PRIx64,
		      u64_at(e + 24));
		field(buf, o + 32, 1, "invalidate_slot", "%u%s", e[32],
		      e[32] ? " (the slot loses its range)" : "");
		for (int k = 33; k < 64; k++)
			pad |= e[k];
		printf("  %04zx: %s x 31%*spadding          %s\n", o + 33,
		       pad ? "??" : "00", 19, "", pad ? "NOT ZERO" : "zero");
		EXPECT(!pad, "padding of entry %u is not zero", i);
	}
}

int main(void)
{
	struct memslot_vm_opts opts = { .sz = sizeof(opts) };
	struct memslot_region r;
	struct memslot_txn *txn;
	struct memslot_vm *vm;
	struct backend b;
	unsigned char *buf;
	uint16_t tmp_id, new_id;
	ssize_t len;
	char *low = guest_memory(64 * MiB);
	char *high = guest_memory(1 * GiB);
	char *bar = guest_memory(16 * MiB);
	char *block = guest_memory(128 * MiB);

	backend_open(&b);
	vm = backend_vm_new(&b, &opts);

	printf("\nthe table before:\n");
	b.trace = 0;
	CHECK(memslot_txn_begin(vm, &txn));
	r = region(0, 0, 32 * MiB, low, 0);
	CHECK(memslot_txn_add(txn, &r, NULL));
	r = region(1, 4 * GiB, 1 * GiB, high, 0);
	CHECK(memslot_txn_add(txn, &r, NULL));
	r = region(2, 0xc0000000, 16 * MiB, bar, 0);
	CHECK(memslot_txn_add(txn, &r, NULL));
	commit_or_die(&b, txn);
	b.trace = 1;
	show_table(vm, "  ");

	printf("\nthe transaction, in the caller's order:\n");
	CHECK(memslot_txn_begin(vm, &txn));
	printf("  1. delete slot 0\n");
	CHECK(memslot_txn_delete(txn, 0, 0));
	printf("  2. create slot 0 again with 64 MiB (a resize)\n");
	r = region(0, 0, 64 * MiB, low, 0);
	CHECK(memslot_txn_add(txn, &r, NULL));
	printf("  3. move slot 2 (a PCI BAR) to gpa 0xd0000000\n");
	CHECK(memslot_txn_move(txn, 0, 2, 0xd0000000));
	printf("  4. start dirty logging on slot 1\n");
	CHECK(memslot_txn_set_flags(txn, 0, 1, MEMSLOT_LOG_DIRTY_PAGES));
	r = region(MEMSLOT_ANY_SLOT, 8 * GiB, 128 * MiB, block, 0);
	CHECK(memslot_txn_add(txn, &r, &tmp_id));
	printf("  5. create a slot at gpa 0x200000000 (got slot %u)\n", tmp_id);
	printf("  6. delete it again (5 and 6 cancel out)\n");
	CHECK(memslot_txn_delete(txn, 0, tmp_id));
	r = region(MEMSLOT_ANY_SLOT, 6 * GiB, 128 * MiB, block, 0);
	CHECK(memslot_txn_add(txn, &r, &new_id));
	printf("  7. create a slot at gpa 0x180000000 (got slot %u)\n", new_id);
	show_canonical(vm, txn);

	len = CHECK(memslot_txn_encode(txn, NULL, 0));   /* the size */
	buf = malloc((size_t)len);
	EXPECT(buf, "out of memory");
	EXPECT(memslot_txn_encode(txn, buf, (size_t)len) == len,
	       "encode returned another size");
	printf("\n");
	dump(vm, buf, (size_t)len);
	EXPECT(u32_at(buf) == 5, "expected 5 entries");

	printf("\ncommit:\n");
	b.ioctls = 0;
	commit_or_die(&b, txn);
	if (b.last_list) {
		EXPECT(b.last_list_len == (size_t)len &&
		       !memcmp(b.last_list, buf, (size_t)len),
		       "the batch sent differs from memslot_txn_encode()");
		printf("  the kernel received exactly the bytes above\n");
	} else {
		printf("  (no batch ioctl on this kernel: the same list went "
		       "out as %ld single-slot ioctls)\n", b.ioctls);
	}
	check_view(&b, vm);
	show_table(vm, "  table: ");
	free(buf);
	memslot_vm_free(vm);
	backend_close(&b);
	printf("encode: OK\n");
	return 0;
}
