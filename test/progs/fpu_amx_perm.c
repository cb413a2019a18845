/* fpu_amx_perm: the AMX tile data permission alone (see fpu_amx.c) */
#define PERM_ONLY
#include "test/progs/fpu_amx.c"
