/*
 * snapshot_threads: the live-snapshot test program (snapshot_writer.h), 256 MiB
 * written by 8 thread(s).
 */
#define SNAP_MIB	256
#define SNAP_THREADS	8
#include "test/progs/snapshot_writer.h"
