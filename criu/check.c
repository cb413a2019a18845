/*
 * check.c - the `criu check [--feature NAME]` action: runs the kernel
 * feature probes, prints "NAME: present" or "NAME: missing (why)" per
 * feature, and decides the exit status from the features that dump and
 * restore cannot do without.
 */
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "criu/check.h"
#include "common/compat.h"
#include "common/log.h"
#include "criu/opts.h"

struct feature {
	const char *name;
	check_fn fn;
	uint64_t arg;
	bool required;		/* dump or restore cannot work without it */
	int result;		/* -1 not yet run, else the probe's return */
	char msg[200];
};

static struct feature features[] = {
	{ "capabilities", chk_capabilities, 0, true, -1, "" },
	{ "ptrace_seize", chk_ptrace_seize, 0, true, -1, "" },
	{ "clone3_set_tid", chk_clone3_set_tid, 0, true, -1, "" },
	{ "pr_set_mm_map", chk_pr_set_mm_map, 0, true, -1, "" },
	{ "process_vm_readv", chk_process_vm_readv, 0, true, -1, "" },
	{ "pidfd_open", chk_pidfd_open, 0, false, -1, "" },
	{ "pidfd_getfd", chk_pidfd_getfd, 0, false, -1, "" },
	{ "userfaultfd", chk_userfaultfd, 0, false, -1, "" },
	{ "uffd_event_fork", chk_uffd_feature, UFFD_FEATURE_EVENT_FORK, false, -1, "" },
	{ "uffd_event_remap", chk_uffd_feature, UFFD_FEATURE_EVENT_REMAP, false, -1, "" },
	{ "uffd_event_remove", chk_uffd_feature, UFFD_FEATURE_EVENT_REMOVE, false, -1, "" },
	{ "uffd_event_unmap", chk_uffd_feature, UFFD_FEATURE_EVENT_UNMAP, false, -1, "" },
	{ "uffd_thread_id", chk_uffd_feature, UFFD_FEATURE_THREAD_ID, false, -1, "" },
	{ "uffd_pagefault_flag_wp", chk_uffd_feature, UFFD_FEATURE_PAGEFAULT_FLAG_WP, false, -1, "" },
	{ "uffd_wp_unpopulated", chk_uffd_feature, UFFD_FEATURE_WP_UNPOPULATED, false, -1, "" },
	{ "uffd_wp_async", chk_uffd_feature, UFFD_FEATURE_WP_ASYNC, false, -1, "" },
	{ "uffd_move", chk_uffd_feature, UFFD_FEATURE_MOVE, false, -1, "" },
	{ "pagemap_scan", chk_pagemap_scan, 0, true, -1, "" },
	{ "uffd_wp", chk_uffd_wp, 0, false, -1, "" },
	{ "soft_dirty", chk_soft_dirty, 0, false, -1, "" },
	{ "mem_dirty_track", chk_mem_dirty_track, 0, false, -1, "" },
	{ "live_snapshot", chk_live_snapshot, 0, false, -1, "" },
	{ "rseq", chk_rseq, 0, false, -1, "" },
	{ "xsave_frames", chk_xsave_frames, 0, true, -1, "" },
	{ "ns_pid", chk_namespace, CLONE_NEWPID, false, -1, "" },
	{ "ns_uts", chk_namespace, CLONE_NEWUTS, false, -1, "" },
	{ "ns_ipc", chk_namespace, CLONE_NEWIPC, false, -1, "" },
	{ "ns_mnt", chk_namespace, CLONE_NEWNS, false, -1, "" },
	{ "ns_net", chk_namespace, CLONE_NEWNET, false, -1, "" },
	{ "ns_cgroup", chk_namespace, CLONE_NEWCGROUP, false, -1, "" },
	{ "ns_time", chk_namespace, CLONE_NEWTIME, false, -1, "" },
	{ "ns_user", chk_namespace, CLONE_NEWUSER, false, -1, "" },
	{ "cgroup_v1", chk_cgroup, 1, false, -1, "" },
	{ "cgroup_v2", chk_cgroup, 2, false, -1, "" },
};
#define NR_FEATURES (sizeof(features) / sizeof(features[0]))

static struct feature *find(const char *name)
{
	for (size_t i = 0; i < NR_FEATURES; i++)
		if (!strcmp(features[i].name, name))
			return &features[i];
	return NULL;
}

static int run(struct feature *f)
{
	if (f->result < 0) {
		f->msg[0] = 0;
		/* children forked by probes must not inherit unflushed output */
		fflush(stdout);
		f->result = f->fn(f->arg, f->msg, sizeof(f->msg)) > 0;
	}
	return f->result;
}

int check_feature(const char *name, char *msg, size_t len)
{
	struct feature *f = find(name);

	if (!f) {
		snprintf(msg, len, "no probe named %s", name);
		return 0;
	}
	run(f);
	snprintf(msg, len, "%s", f->msg);
	return f->result;
}

static void print(const struct feature *f)
{
	if (f->result)
		printf(f->msg[0] ? "%s: present (%s)\n" : "%s: present\n", f->name, f->msg);
	else
		printf("%s: missing (%s)\n", f->name, f->msg[0] ? f->msg : "no reason given");
}

static void unknown_feature(const char *name)
{
	char names[1024];
	size_t n = 0;

	names[0] = 0;
	for (size_t i = 0; i < NR_FEATURES && n < sizeof(names); i++)
		n += snprintf(names + n, sizeof(names) - n, "%s%s", i ? ", " : "", features[i].name);
	pr_err("check: unknown feature '%s'; valid names: %s", name, names);
}

int cr_check(const struct opts *o)
{
	bool ok = true;

	if (o->nr_args) {
		pr_err("check: unexpected argument '%s'", o->args[0]);
		return 1;
	}
	if (o->feature) {
		struct feature *f = find(o->feature);
		if (!f) {
			unknown_feature(o->feature);
			return 1;
		}
		ok = run(f);
		print(f);
	} else {
		for (size_t i = 0; i < NR_FEATURES; i++) {
			struct feature *f = &features[i];
			if (!run(f) && f->required)
				ok = false;
			print(f);
		}
	}
	if (ok)
		printf("Looks good.\n");
	fflush(stdout);
	return ok ? 0 : 1;
}
