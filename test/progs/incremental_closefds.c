#define CLOSE_FDS 1
#include "test/progs/incremental.c"
