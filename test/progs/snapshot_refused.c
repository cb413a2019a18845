/*
 * snapshot_refused: the live-snapshot test program (snapshot_writer.h), 256
 * MiB written by 1 thread, and 256 MiB it unmaps on SIGUSR2; test/run.sh
 * mode snapshot_refused: unmapped while the live snapshot copies it, the
 * snapshot must fail and leave the program running as before.
 */
#define SNAP_MIB	256
#define SNAP_THREADS	1
#define SNAP_UNMAP_MIB	256
#include "test/progs/snapshot_writer.h"
