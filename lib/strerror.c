/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "internal.h"

/* What each errno means when a memslot call returns it. */
static const struct {
	int err;
	const char *text;
} messages[] = {
	{ EINVAL, "invalid argument, or a request the kernel refuses "
		  "(flags, alignment, id or address space out of range, "
		  "an unchangeable field of an existing slot, no such slot)" },
	{ EEXIST, "guest physical range overlaps another slot of the same "
		  "address space, or the slot already exists" },
	{ ENOENT, "no such slot, or the id is not reserved or held" },
	{ EBUSY, "a transaction is already open, or the id is reserved, held "
		 "in quarantine or used by the open transaction" },
	{ ENOSPC, "no free slot id in this address space" },
	{ EOPNOTSUPP, "the batch ioctl is not available for this transaction" },
	{ E2BIG, "struct larger than this library knows with non-zero "
		 "unknown fields, or too many changes" },
	{ EBADF, "bad file descriptor (VM fd or guest_memfd)" },
	{ ENOMEM, "out of memory" },
	{ EFAULT, "the kernel could not read the request" },
	{ EIO, "the VM is dead or used from another process" },
	{ ENOTTY, "the kernel does not know this ioctl" },
	{ ECANCELED, "the quiesce callback refused to stop the vCPUs" },
};

MEMSLOT_EXPORT const char *memslot_strerror(int err)
{
	if (err == INT_MIN)
		return "unknown error";
	err = abs(err);
	if (err == 0)
		return "success";
	for (size_t i = 0; i < sizeof(messages) / sizeof(messages[0]); i++)
		if (messages[i].err == err)
			return messages[i].text;
	return "unknown error";
}
