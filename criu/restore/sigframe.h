/*
 * sigframe.h - the rt_sigframe through which each restored thread gets its
 * registers back: general registers, signal mask, alternate stack and the
 * xsave area (FPU, SSE, AVX, AVX-512, PKRU, AMX tiles), laid out the way
 * this kernel's rt_sigreturn accepts it.  Owns the checks of a dumped xsave
 * area against this CPU; knows nothing of memory or files.
 */
#ifndef RESTORE_SIGFRAME_H
#define RESTORE_SIGFRAME_H

#include <stdbool.h>
#include <stdint.h>

#include "criu/restore/arena.h"
#include "images/core.pb-c.h"

/* struct _fpx_sw_bytes: the kernel's description of an xsave signal frame */
struct k_fpx_sw_bytes {
	uint32_t magic1;
	uint32_t extended_size;
	uint64_t xfeatures;
	uint32_t xstate_size;
	uint32_t padding[7];
};

/* how this kernel and CPU frame FPU state */
struct fpu_env {
	struct k_fpx_sw_bytes sw;	/* criu's own signal frames: features in use by
					 * default, without dynamic ones (AMX tiles) */
	uint32_t max_size;		/* standard-format size with every feature of XCR0 */
	uint64_t xcr0;
};

/* probes the frame layout with a signal to criu itself; -1 with a message */
int fpu_env_probe(struct fpu_env *env);

/*
 * The dynamic xstate features (AMX tile data) a process asks for again with
 * ARCH_REQ_XCOMP_PERM: those it had permission for (core, its leader's),
 * and those one of its threads (core and the nr_others of others) holds
 * live state of.  0 if none.
 */
uint64_t fpu_perm_to_ask(const Core *core, Core *const *others, size_t nr_others,
			 const struct fpu_env *env);

/*
 * Builds thread tc's rt_sigframe in ar and returns the address rsp takes
 * before rt_sigreturn (0 with a message naming core-TID.img if the dumped
 * state cannot be restored here).  *grow is set when the frame holds live
 * AMX tile data: the thread must then take the kernel's larger FPU buffer
 * (first use of a tile instruction) before its rt_sigreturn.
 */
uint64_t sigframe_build(const ThreadCore *tc, const struct fpu_env *env, struct arena *ar,
			bool *grow);

#endif /* RESTORE_SIGFRAME_H */
