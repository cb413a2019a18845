/*
 * snapshot_kill: the live-snapshot test program (snapshot_writer.h), 512 MiB
 * written by 2 thread(s).
 */
#define SNAP_MIB	512
#define SNAP_THREADS	2
#include "test/progs/snapshot_writer.h"
