/*
 * img-edit.c - the tests' image editor: sets scalar fields of one entry of
 * an image file and writes the file back with valid framing (checksums,
 * header: same dump id and owner), so that a test can hand restore an
 * image that passes every framing check but holds a value a dump could not
 * have produced.
 *
 *   img-edit FILE [-e ENTRY] PATH=VALUE...
 *
 * PATH is a dotted field path from the entry's message, a repeated field
 * indexed with [N]: thread.regs.cs=0x2b, thread.creds.uid[1]=5,
 * sigactions[0].handler=1.  VALUE is a number (strtoull/strtoll, any base).
 * Only for tests: it trusts the file to be an image.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "images/image.h"

/* the field of m named by path; sets *msg to its message, *idx to its index */
static const ProtobufCFieldDescriptor *walk(ProtobufCMessage **msg, char *path, long *idx)
{
	for (;;) {
		char *dot = strchr(path, '.'), *br;
		if (dot)
			*dot = 0;
		*idx = -1;
		if ((br = strchr(path, '['))) {
			*br = 0;
			*idx = strtol(br + 1, NULL, 0);
		}
		const ProtobufCFieldDescriptor *f =
			protobuf_c_message_descriptor_get_field_by_name((*msg)->descriptor, path);
		if (!f) {
			fprintf(stderr, "img-edit: no field %s in %s\n", path, (*msg)->descriptor->name);
			return NULL;
		}
		if (!dot)
			return f;
		if (f->type != PROTOBUF_C_TYPE_MESSAGE) {
			fprintf(stderr, "img-edit: %s is not a message\n", path);
			return NULL;
		}
		void *p = (char *)*msg + f->offset;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(size_t *)((char *)*msg + f->quantifier_offset);
			if (*idx < 0 || (size_t)*idx >= n) {
				fprintf(stderr, "img-edit: %s has %zu elements\n", path, n);
				return NULL;
			}
			*msg = (*(ProtobufCMessage ***)p)[*idx];
		} else {
			*msg = *(ProtobufCMessage **)p;
		}
		if (!*msg) {
			fprintf(stderr, "img-edit: %s is not set\n", path);
			return NULL;
		}
		path = dot + 1;
	}
}

static int set_field(ProtobufCMessage *m, char *assign)
{
	char *eq = strchr(assign, '=');
	long idx;

	if (!eq)
		return -1;
	*eq = 0;
	const ProtobufCFieldDescriptor *f = walk(&m, assign, &idx);
	if (!f)
		return -1;
	char *p = (char *)m + f->offset;
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		size_t n = *(size_t *)((char *)m + f->quantifier_offset);
		if (idx < 0 || (size_t)idx >= n) {
			fprintf(stderr, "img-edit: %s has %zu elements\n", assign, n);
			return -1;
		}
		p = *(char **)p;
	} else {
		idx = 0;
		if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset)
			*(protobuf_c_boolean *)((char *)m + f->quantifier_offset) = 1;
	}
	unsigned long long v = strtoull(eq + 1, NULL, 0);
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_ENUM:
		((uint32_t *)p)[idx] = (uint32_t)strtoll(eq + 1, NULL, 0);
		return 0;
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
		((uint64_t *)p)[idx] = v;
		return 0;
	case PROTOBUF_C_TYPE_BOOL:
		((protobuf_c_boolean *)p)[idx] = !!v;
		return 0;
	default:
		fprintf(stderr, "img-edit: %s is not a number\n", assign);
		return -1;
	}
}

int main(int argc, char **argv)
{
	const struct img_desc *d;
	struct img_entries e;
	struct img_hdr h;
	size_t entry = 0;
	int i = 2;

	if (argc < 3 || !(d = img_desc_by_name(argv[1])) || !d->msg) {
		fprintf(stderr, "usage: img-edit FILE [-e ENTRY] PATH=VALUE...\n");
		return 2;
	}
	if (!strcmp(argv[2], "-e") && argc > 4) {
		entry = strtoul(argv[3], NULL, 0);
		i = 4;
	}
	int fd = open(argv[1], O_RDONLY);
	if (fd < 0 || pread(fd, &h, sizeof(h), 0) != sizeof(h) || img_read_path(argv[1], d, &e)) {
		fprintf(stderr, "img-edit: cannot read %s\n", argv[1]);
		return 1;
	}
	close(fd);
	if (entry >= e.nr) {
		fprintf(stderr, "img-edit: %s has %zu entries\n", argv[1], e.nr);
		return 1;
	}
	for (; i < argc; i++)
		if (set_field(e.msgs[entry], argv[i]))
			return 1;

	/* written in the file's own directory under its own name */
	char *dir = strdup(argv[1]), *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY);
	struct img_writer *w;
	if (dfd < 0 || img_writer_open(dfd, d->kind, h.owner, h.dump_id, &w))
		return 1;
	for (size_t k = 0; k < e.nr; k++)
		if (img_write(w, e.msgs[k]))
			return 1;
	return img_writer_close(w) ? 1 : 0;
}
