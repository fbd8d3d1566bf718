/* What rampart-verify and rampart-cloud share to confine themselves:
 * no_new_privs, then a seccomp filter that fails everything with EPERM
 * except the given system calls, mmap and mprotect never with PROT_EXEC
 * (no code is ever mapped after start), and whatever rules the caller
 * adds. Each helper's file lists its own system calls and says why. */
#ifndef RPD_CONFINE_H
#define RPD_CONFINE_H

#include <seccomp.h>
#include <stddef.h>

#include "base/err.h"

/* allow: n system call numbers (negative ones, absent on this
 * architecture, are skipped). extra, when given, adds rules to ctx and
 * returns 0 or a negative libseccomp error. */
int rpd_confine(const int *allow, size_t n,
		int (*extra)(scmp_filter_ctx ctx, void *arg), void *arg,
		struct rp_err *e) RP_WUR;

#endif
