/* caps.h - checking that we hold what checkpoint/restore needs. */
#ifndef CRIU_CAPS_H
#define CRIU_CAPS_H
#include <stdbool.h>
/* true if capability cap (CAP_*) is effective */
bool have_cap(int cap);
/* true if CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE is effective */
bool have_cr_caps(void);
/* logs a plain error naming the action when the capabilities are missing */
int require_cr_caps(const char *action);
#endif
