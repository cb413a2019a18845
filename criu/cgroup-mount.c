/*
 * cgroup-mount.c - the mount point of a cgroup hierarchy (cgroup-mount.h).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "criu/cgroup-mount.h"

bool cg_all_in(const char *want, const char *have)
{
	char w[256];
	snprintf(w, sizeof(w), "%s", want);
	for (char *save, *it = strtok_r(w, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
		size_t n = strlen(it);
		const char *h = have;
		bool found = false;
		while (!found && (h = strstr(h, it))) {
			found = (h == have || h[-1] == ',') && (h[n] == ',' || h[n] == 0);
			h += n;
		}
		if (!found)
			return false;
	}
	return true;
}

int cg_mount_of(const char *controllers, char *out, size_t len)
{
	char line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int ret = -1;

	while (f && ret && fgets(line, sizeof(line), f)) {
		char root[PATH_MAX], mnt[PATH_MAX], type[64], opts[1024];
		char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 ||
		    sscanf(dash + 3, "%63s %*s %1023s", type, opts) != 2 || strcmp(root, "/"))
			continue;
		if (*controllers ? !strcmp(type, "cgroup") && cg_all_in(controllers, opts)
				 : !strcmp(type, "cgroup2")) {
			snprintf(out, len, "%s", mnt);
			ret = 0;
		}
	}
	if (f)
		fclose(f);
	return ret;
}
