/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Kernel ABI that Debian 12's <linux/kvm.h> (6.1) lacks: REGION2 and
 * guest_memfd (6.8+), and the batch ioctl of the 2022 RFC, which was never
 * merged.  Each definition is guarded so that newer headers win; the
 * layouts are pinned by static assertions below and by tests.
 */
#ifndef LIBMEMSLOT_KVM_COMPAT_H
#define LIBMEMSLOT_KVM_COMPAT_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

#ifndef KVM_CAP_NR_MEMSLOTS
#define KVM_CAP_NR_MEMSLOTS 10
#endif
#ifndef KVM_CAP_READONLY_MEM
#define KVM_CAP_READONLY_MEM 81
#endif
#ifndef KVM_CAP_MULTI_ADDRESS_SPACE
#define KVM_CAP_MULTI_ADDRESS_SPACE 118
#endif
#ifndef KVM_CAP_USER_MEMORY2
#define KVM_CAP_USER_MEMORY2 231
#endif
#ifndef KVM_CAP_GUEST_MEMFD
#define KVM_CAP_GUEST_MEMFD 234
#endif

#ifndef KVM_MEM_LOG_DIRTY_PAGES
#define KVM_MEM_LOG_DIRTY_PAGES (1UL << 0)
#endif
#ifndef KVM_MEM_READONLY
#define KVM_MEM_READONLY (1UL << 1)
#endif
#ifndef KVM_MEM_GUEST_MEMFD
#define KVM_MEM_GUEST_MEMFD (1UL << 2)
#endif

/*
 * REGION2 arrived with KVM_CAP_USER_MEMORY2 in the same header, so the
 * ioctl macro tells whether the struct is already defined.
 */
#ifndef KVM_SET_USER_MEMORY_REGION2
struct kvm_userspace_memory_region2 {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 memory_size;
	__u64 userspace_addr;
	__u64 guest_memfd_offset;
	__u32 guest_memfd;
	__u32 pad1;
	__u64 pad2[14];
};
#define KVM_SET_USER_MEMORY_REGION2 \
	_IOW(KVMIO, 0x49, struct kvm_userspace_memory_region2)
#endif

/*
 * The batch ioctl of "[RFC PATCH 0/9] kvm: implement atomic memslot
 * updates" (2022).  Never merged, so no header will define it; the guard
 * only protects against a kernel tree that carries the RFC.
 */
#ifndef KVM_SET_USER_MEMORY_REGION_LIST
struct kvm_userspace_memory_region_entry {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 memory_size;
	__u64 userspace_addr;
	__u8 invalidate_slot;     /* 1 exactly on deletes and moves */
	__u8 padding[31];
};

struct kvm_userspace_memory_region_list {
	__u32 nent;
	__u32 flags;              /* must be 0 */
	struct kvm_userspace_memory_region_entry entries[];
};
#define KVM_SET_USER_MEMORY_REGION_LIST \
	_IOW(KVMIO, 0x49, struct kvm_userspace_memory_region_list)
#endif

_Static_assert(sizeof(struct kvm_userspace_memory_region) == 32, "v1 region");
_Static_assert(sizeof(struct kvm_userspace_memory_region2) == 160, "region2");
_Static_assert(offsetof(struct kvm_userspace_memory_region2, guest_memfd) == 40,
	       "region2 guest_memfd");
_Static_assert(sizeof(struct kvm_userspace_memory_region_entry) == 64, "entry");
_Static_assert(offsetof(struct kvm_userspace_memory_region_entry,
			invalidate_slot) == 32, "entry invalidate_slot");
_Static_assert(sizeof(struct kvm_userspace_memory_region_list) == 8, "list");
_Static_assert(KVM_SET_USER_MEMORY_REGION == 0x4020AE46, "v1 ioctl");
_Static_assert(KVM_SET_USER_MEMORY_REGION2 == 0x40A0AE49, "v2 ioctl");
_Static_assert(KVM_SET_USER_MEMORY_REGION_LIST == 0x4008AE49, "list ioctl");

#endif /* LIBMEMSLOT_KVM_COMPAT_H */
