#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# LOG_COMPILER for run-valgrind.sh: programs (and their libtool wrappers)
# run under valgrind memcheck; scripts run as they are.
prog=$1
shift
if head -c 4 "$prog" | grep -q 'ELF' ||
   grep -q 'temporary wrapper script' "$prog" 2>/dev/null; then
	exec "${VALGRIND_LIBTOOL:-libtool}" --mode=execute valgrind -q --error-exitcode=1 \
		--leak-check=full --errors-for-leak-kinds=definite \
		--show-leak-kinds=definite --track-origins=yes \
		--suppressions=/dev/null "$prog" "$@"
fi
exec "$prog" "$@"
