/*
 * snapshot_1g: the live-snapshot test program (snapshot_writer.h), 1024 MiB
 * written by 1 thread(s).
 */
#define SNAP_MIB	1024
#define SNAP_THREADS	1
#include "test/progs/snapshot_writer.h"
