/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The vm object: the committed view of one VM's memslot table, the
 * capabilities probed once, and the calls that read or annotate the view.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"
#include "kvm-compat.h"

/*
 * The exclusive bound the kernel's access_ok() puts on userspace_addr +
 * memory_size (D5): an end up to TASK_SIZE_MAX passes (measured on 6.1,
 * 6.12 and 6.18).  TASK_SIZE_MAX depends on whether the host runs 5-level
 * paging, and a mapping above 47 bits succeeds only there.
 */
uint64_t memslot_user_addr_limit(void)
{
	/* Probed once per process; racing threads compute the same value. */
	static uint64_t cached;
	uint64_t limit = __atomic_load_n(&cached, __ATOMIC_RELAXED);
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	void *hint = (void *)(1ull << 48), *p;

	if (limit)
		return limit;
	p = mmap(hint, page, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != MAP_FAILED)
		munmap(p, page);
	limit = (p == hint ? 1ull << 56 : 1ull << 47) - page + 1;
	__atomic_store_n(&cached, limit, __ATOMIC_RELAXED);
	return limit;
}

int memslot_vm_ioctl(struct memslot_vm *vm, unsigned long req, void *arg)
{
	int r;

	if (vm->ioctl)
		return vm->ioctl(vm->ioctl_opaque, vm->fd, req, arg);
	r = ioctl(vm->fd, req, arg);
	return r < 0 ? -errno : r;
}

static int check_extension(struct memslot_vm *vm, long cap, uint32_t *out)
{
	int r = memslot_vm_ioctl(vm, KVM_CHECK_EXTENSION, (void *)cap);

	if (r < 0)
		return r;
	*out = (uint32_t)r;
	return 0;
}

/* Only a kernel with the batch ioctl answers an empty list with 0. */
static uint32_t probe_batch(struct memslot_vm *vm)
{
	struct kvm_userspace_memory_region_list empty = { .nent = 0 };

	return memslot_vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION_LIST, &empty) == 0;
}

static int probe(struct memslot_vm *vm)
{
	struct memslot_caps *c = &vm->caps;
	int err;

	if ((err = check_extension(vm, KVM_CAP_NR_MEMSLOTS, &c->nr_slots)) ||
	    (err = check_extension(vm, KVM_CAP_MULTI_ADDRESS_SPACE, &c->nr_as)) ||
	    (err = check_extension(vm, KVM_CAP_READONLY_MEM, &c->readonly)) ||
	    (err = check_extension(vm, KVM_CAP_USER_MEMORY2, &c->user_memory2)) ||
	    (err = check_extension(vm, KVM_CAP_GUEST_MEMFD, &c->guest_memfd)))
		return err;
	if (!c->nr_slots)
		return -EINVAL;   /* not a KVM VM */
	/* Ids are 16 bits with 0xffff reserved for MEMSLOT_ANY_SLOT. */
	if (c->nr_slots > MEMSLOT_MAX_IDS)
		c->nr_slots = MEMSLOT_MAX_IDS;
	if (!c->nr_as)
		c->nr_as = 1;
	if (c->nr_as > MEMSLOT_MAX_AS)
		c->nr_as = MEMSLOT_MAX_AS;
	c->readonly = !!c->readonly;
	c->user_memory2 = !!c->user_memory2;
	c->guest_memfd = !!c->guest_memfd;
	c->batch = probe_batch(vm);
	c->batch_usable = c->batch;
	c->page_size = (uint32_t)vm->page_size;
	return 0;
}

static int init_tables(struct memslot_vm *vm)
{
	uint32_t nr_ids = vm->caps.nr_slots;
	size_t words = (nr_ids + 63) / 64;

	for (uint32_t i = 0; i < vm->caps.nr_as; i++) {
		struct as_table *t = &vm->as[i];
		int err;

		gpa_tree_init(&t->committed);
		t->reserved = calloc(words, sizeof(uint64_t));
		t->held = calloc(words, sizeof(uint64_t));
		if (!t->reserved || !t->held)
			return -ENOMEM;
		if ((err = idmap_init(&t->ids, nr_ids)) ||
		    (err = idalloc_init(&t->busy, nr_ids)))
			return err;
	}
	return 0;
}

static int apply_opts(struct memslot_vm *vm, const struct memslot_vm_opts *o)
{
	if (o->mode < MEMSLOT_MODE_AUTO || o->mode > MEMSLOT_MODE_SEQUENTIAL)
		return -EINVAL;
	if (o->flags & ~MEMSLOT_VM_HOLD_DELETED_IDS)
		return -EINVAL;
	/* quiesce and resume come as a pair: a stop with no restart hangs. */
	if (!o->quiesce != !o->resume)
		return -EINVAL;
	vm->mode = o->mode;
	vm->flags = o->flags;
	vm->ioctl = o->ioctl;
	vm->ioctl_opaque = o->ioctl_opaque;
	vm->quiesce = o->quiesce;
	vm->resume = o->resume;
	vm->quiesce_opaque = o->quiesce_opaque;
	return 0;
}

MEMSLOT_EXPORT int memslot_vm_new(int vm_fd, const struct memslot_vm_opts *opts,
				  struct memslot_vm **vmp)
{
	struct memslot_vm_opts o = { .sz = sizeof(o) };
	struct memslot_vm *vm;
	int err;

	if (!vmp)
		return -EINVAL;
	*vmp = NULL;
	if (opts && (err = memslot_opts_copy(&o, sizeof(o), opts, opts->sz)))
		return err;
	if (vm_fd < 0 && !o.ioctl)
		return -EBADF;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->fd = vm_fd;
	vm->page_size = (uint64_t)sysconf(_SC_PAGESIZE);
	vm->user_addr_limit = memslot_user_addr_limit();
	if ((err = apply_opts(vm, &o)) || (err = probe(vm)) ||
	    (err = init_tables(vm))) {
		memslot_vm_free(vm);
		return err;
	}
	*vmp = vm;
	return 0;
}

MEMSLOT_EXPORT void memslot_vm_free(struct memslot_vm *vm)
{
	if (!vm)
		return;
	if (vm->txn)
		memslot_txn_abort(vm->txn);
	for (uint32_t i = 0; i < MEMSLOT_MAX_AS; i++) {
		struct as_table *t = &vm->as[i];

		idmap_fini(&t->ids);
		idalloc_fini(&t->busy);
		free(t->reserved);
		free(t->held);
	}
	slot_pool_fini(vm);
	free(vm);
}

MEMSLOT_EXPORT int memslot_vm_caps(const struct memslot_vm *vm,
				   struct memslot_caps *caps)
{
	if (!vm || !caps)
		return -EINVAL;
	return memslot_struct_out(caps, &vm->caps, sizeof(vm->caps));
}

static bool in_range(const struct memslot_vm *vm, uint16_t as_id, uint16_t id)
{
	return as_id < vm->caps.nr_as && id < vm->caps.nr_slots;
}

static int region_out(struct memslot_region *out, const struct slot *s)
{
	struct memslot_region r;

	memslot_region_from(&r, s->as_id, s->id, &s->st);
	return memslot_struct_out(out, &r, sizeof(r));
}

MEMSLOT_EXPORT int memslot_vm_find(const struct memslot_vm *vm, uint16_t as_id,
				   uint16_t slot, struct memslot_region *out)
{
	struct slot *s;

	if (!vm || !out || out->sz < sizeof(size_t))
		return -EINVAL;
	if (!in_range(vm, as_id, slot))
		return -EINVAL;
	s = table_committed(vm, as_id, slot);
	return s ? region_out(out, s) : -ENOENT;
}

MEMSLOT_EXPORT int memslot_vm_find_gpa(const struct memslot_vm *vm,
				       uint16_t as_id, uint64_t gpa,
				       struct memslot_region *out)
{
	struct gpa_node *n;

	if (!vm || !out || out->sz < sizeof(size_t) || as_id >= vm->caps.nr_as)
		return -EINVAL;
	n = gpa_tree_find(&vm->as[as_id].committed, gpa);
	return n ? region_out(out, slot_of(n)) : -ENOENT;
}

MEMSLOT_EXPORT int memslot_vm_foreach(const struct memslot_vm *vm,
				      int (*fn)(const struct memslot_region *r,
						void *opaque),
				      void *opaque)
{
	if (!vm || !fn)
		return -EINVAL;
	for (uint32_t as_id = 0; as_id < vm->caps.nr_as; as_id++) {
		const struct idmap *m = &vm->as[as_id].ids;

		for (uint32_t c = 0; c < m->nr_chunks; c++) {
			for (uint32_t i = 0; m->chunks[c] && i < IDMAP_CHUNK; i++) {
				const struct slot *s = m->chunks[c][i].committed;
				struct memslot_region r;
				int ret;

				if (!s)
					continue;
				memslot_region_from(&r, s->as_id, s->id, &s->st);
				if ((ret = fn(&r, opaque)))
					return ret;
			}
		}
	}
	return 0;
}

MEMSLOT_EXPORT int memslot_vm_count(const struct memslot_vm *vm)
{
	return vm ? (int)vm->nr_committed : -EINVAL;
}

/* Turn a caller's region into a kernel request; -EINVAL/-E2BIG on bad sz. */
int request_from_region(const struct memslot_region *r, struct request *rq)
{
	struct memslot_region in;
	int err;

	if (!r)
		return -EINVAL;
	if (r->sz == sizeof(in))
		in = *r;   /* the common case, without the generic copy */
	else if ((err = memslot_opts_copy(&in, sizeof(in), r, r->sz)))
		return err;
	if (in.reserved)
		return -EINVAL;
	rq->as_id = in.as_id;
	rq->id = in.slot;
	rq->st = (struct slot_state){
		.flags = in.flags,
		.gpa = in.guest_phys_addr,
		.size = in.memory_size,
		.hva = in.userspace_addr,
		.gmem_offset = 0,
		.gmem_fd = -1,
	};
	/* The kernel reads the guest_memfd fields only with the flag. */
	if (in.flags & MEMSLOT_GUEST_MEMFD) {
		rq->st.gmem_offset = in.guest_memfd_offset;
		rq->st.gmem_fd = in.guest_memfd;
	}
	return 0;
}

MEMSLOT_EXPORT int memslot_vm_adopt(struct memslot_vm *vm,
				    const struct memslot_region *r)
{
	struct request rq;
	struct slot *s;
	int err;

	if (!vm)
		return -EINVAL;
	if ((err = request_from_region(r, &rq)))
		return err;
	if (vm->txn)
		return -EBUSY;
	if (rq.id == MEMSLOT_ANY_SLOT)
		return -EINVAL;
	if ((err = validate_adopt(vm, &rq)))
		return err;
	s = slot_alloc(vm);
	if (!s)
		return -ENOMEM;
	s->as_id = rq.as_id;
	s->id = rq.id;
	s->st = rq.st;
	s->present = true;
	if ((err = table_insert_committed(vm, s))) {
		slot_free(vm, s);
		return err;
	}
	table_refresh_busy(vm, rq.as_id, rq.id);
	return 0;
}

/* An id whose state the caller wants to change outside a transaction. */
static int check_free_id(const struct memslot_vm *vm, uint16_t as_id,
			 uint16_t id)
{
	if (!vm || !in_range(vm, as_id, id))
		return -EINVAL;
	if (table_committed(vm, as_id, id))
		return -EEXIST;
	if (table_pending(vm, as_id, id) || table_id_blocked(vm, as_id, id))
		return -EBUSY;
	return 0;
}

MEMSLOT_EXPORT int memslot_vm_reserve(struct memslot_vm *vm, uint16_t as_id,
				      uint16_t slot)
{
	int err = check_free_id(vm, as_id, slot);

	if (err)
		return err;
	bit_assign(vm->as[as_id].reserved, slot, true);
	table_refresh_busy(vm, as_id, slot);
	return 0;
}

static int clear_mark(struct memslot_vm *vm, uint16_t as_id, uint16_t slot,
		      bool held)
{
	uint64_t *map;

	if (!vm || !in_range(vm, as_id, slot))
		return -EINVAL;
	map = held ? vm->as[as_id].held : vm->as[as_id].reserved;
	if (!bit_test(map, slot))
		return -ENOENT;
	bit_assign(map, slot, false);
	table_refresh_busy(vm, as_id, slot);
	return 0;
}

MEMSLOT_EXPORT int memslot_vm_unreserve(struct memslot_vm *vm, uint16_t as_id,
					uint16_t slot)
{
	return clear_mark(vm, as_id, slot, false);
}

MEMSLOT_EXPORT int memslot_vm_release(struct memslot_vm *vm, uint16_t as_id,
				      uint16_t slot)
{
	return clear_mark(vm, as_id, slot, true);
}
