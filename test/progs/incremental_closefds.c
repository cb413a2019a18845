#define CLOSE_FDS 1
#include "incremental.c"
