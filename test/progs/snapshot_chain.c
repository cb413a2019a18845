/*
 * snapshot_chain: the live-snapshot test program (snapshot_writer.h), 256 MiB
 * written by 2 threads; test/run.sh mode snapshot_chain: a first pre-dump
 * --live-snapshot --track-mem while it writes, a tracked pre-dump, a final
 * dump, restored.
 */
#define SNAP_MIB	256
#define SNAP_THREADS	2
#include "test/progs/snapshot_writer.h"
