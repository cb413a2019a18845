/*
 * sk-filter.h - a socket's classic BPF filter and its lock, for every
 * socket kind (sk-filter.c).
 */
#ifndef CRIU_FILES_SK_FILTER_H
#define CRIU_FILES_SK_FILTER_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>

/* the filter into *prog (*has set if there is one), its lock into *locked
 * (NULL: the caller reads the lock itself, as inet's option table does) */
int sk_filter_dump(const char *what, int sk, ProtobufCBinaryData *prog, protobuf_c_boolean *has,
		   bool *locked);
/* attach prog again if has, then lock it if locked (file id for messages) */
int sk_filter_restore(unsigned id, int sk, const ProtobufCBinaryData *prog, bool has, bool locked);

#endif /* CRIU_FILES_SK_FILTER_H */
