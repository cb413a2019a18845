/* caps.c - capability checks with libcap (see caps.h). */
#include <sys/capability.h>

#include "criu/caps.h"
#include "common/compat.h"
#include "common/log.h"

static bool cap_effective(cap_t caps, cap_value_t v)
{
	cap_flag_value_t val = CAP_CLEAR;
	if (!CAP_IS_SUPPORTED(v))
		return false;
	return cap_get_flag(caps, v, CAP_EFFECTIVE, &val) == 0 && val == CAP_SET;
}

bool have_cap(int cap)
{
	cap_t caps = cap_get_proc();
	bool ok;

	if (!caps)
		return false;
	ok = cap_effective(caps, cap);
	cap_free(caps);
	return ok;
}

bool have_cr_caps(void)
{
	cap_t caps = cap_get_proc();
	bool ok;

	if (!caps)
		return false;
	ok = cap_effective(caps, CAP_SYS_ADMIN) || cap_effective(caps, CAP_CHECKPOINT_RESTORE);
	cap_free(caps);
	return ok;
}

int require_cr_caps(const char *action)
{
	if (have_cr_caps())
		return 0;
	pr_err("%s needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE: run it as root", action);
	return -1;
}
