/*
 * snapshot_flags: the live-snapshot test program (snapshot_writer.h), 256
 * MiB written by 1 thread, MADV_NOHUGEPAGE on it on SIGUSR2; test/run.sh
 * mode snapshot_flags: VmFlags changed around a live snapshot (read before
 * the freeze) must fail it, and leave the program running as before.
 */
#define SNAP_MIB	256
#define SNAP_THREADS	1
#define SNAP_MADVISE
#include "test/progs/snapshot_writer.h"
