/*
 * stats-file.h - stats-dump and stats-restore (images/stats.proto): the
 * figures of a dump or restore for clients (podman --print-stats, the
 * stats-dump file of checkpoint --export).  Framed as upstream CRIU frames
 * them, since those clients parse that: u32 0x55105940, u32 0x57093306,
 * u32 payload size, one Stats message.  Owns that framing only.
 */
#ifndef IMAGES_STATS_FILE_H
#define IMAGES_STATS_FILE_H

#include "images/stats.pb-c.h"

/* NAME ("stats-dump", "stats-restore") in dirfd, replaced; 0 or -errno */
int stats_file_write(int dirfd, const char *name, const Stats *st);

#endif /* IMAGES_STATS_FILE_H */
