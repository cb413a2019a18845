/* fpu_amx_perm: the AMX tile data permission alone (see fpu_amx.c) */
#define PERM_ONLY
#include "fpu_amx.c"
