/* pbjson.c - protobuf-c message to json-c object by descriptors (pbjson.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "images/pbjson.h"

/*
 * uint64 fields shown as hex strings: addresses, and a few masks and
 * checksums that are only readable in hex.  Matched by field name in any
 * message.
 */
static const char *const hex_fields[] = {
	"start", "end", "vaddr", "rip", "sp", "fs_base", "gs_base",
	"handler", "restorer", "mask", "sigmask", "ptr", "clear_tid_addr",
	"start_code", "end_code", "start_data", "end_data", "start_brk", "brk",
	"start_stack", "arg_start", "arg_end", "env_start", "env_end",
	"auxv", "xxh3", "xfeatures", "pgoff",
	NULL,
};

static int is_hex_field(const char *name)
{
	for (const char *const *p = hex_fields; *p; p++)
		if (!strcmp(*p, name))
			return 1;
	return 0;
}

static json_object *hex_u64(uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_object_new_string(buf);
}

static json_object *hex_string(const uint8_t *p, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char buf[2 * PBJSON_BYTES_WHOLE + 1];

	if (len > PBJSON_BYTES_WHOLE)
		len = PBJSON_BYTES_WHOLE;
	for (size_t i = 0; i < len; i++) {
		buf[2 * i] = digits[p[i] >> 4];
		buf[2 * i + 1] = digits[p[i] & 15];
	}
	return json_object_new_string_len(buf, 2 * len);
}

static json_object *bytes_value(const ProtobufCBinaryData *b)
{
	if (b->len <= PBJSON_BYTES_WHOLE)
		return hex_string(b->data, b->len);
	json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "len", json_object_new_uint64(b->len));
	json_object_object_add(o, "head", hex_string(b->data, PBJSON_BYTES_HEAD));
	return o;
}

static json_object *enum_value(const ProtobufCEnumDescriptor *d, int v)
{
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
	return ev ? json_object_new_string(ev->name) : json_object_new_int(v);
}

/* one value of field f stored at p */
static json_object *field_value(const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_object_new_int(*(const int32_t *)p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return json_object_new_int64(*(const int64_t *)p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return json_object_new_int64(*(const uint32_t *)p);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		if (is_hex_field(f->name))
			return hex_u64(*(const uint64_t *)p);
		return json_object_new_uint64(*(const uint64_t *)p);
	case PROTOBUF_C_TYPE_FLOAT:
		return json_object_new_double(*(const float *)p);
	case PROTOBUF_C_TYPE_DOUBLE:
		return json_object_new_double(*(const double *)p);
	case PROTOBUF_C_TYPE_BOOL:
		return json_object_new_boolean(*(const protobuf_c_boolean *)p);
	case PROTOBUF_C_TYPE_ENUM:
		return enum_value(f->descriptor, *(const int *)p);
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		return s ? json_object_new_string(s) : NULL;
	}
	case PROTOBUF_C_TYPE_BYTES:
		return bytes_value(p);
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
		return sub ? pbjson_message(sub) : NULL;
	}
	}
	return NULL;
}

static size_t elem_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_ENUM:
		return 4;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	}
	return 0;
}

/* whether an optional (or oneof) field is set in message m */
static int field_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	const char *base = (const char *)m;

	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)(base + f->quantifier_offset) == f->id;
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(void *const *)(base + f->offset) != NULL;
	default:
		return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
	}
}

json_object *pbjson_message(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *base = (const char *)m;
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const void *p = base + f->offset;
		json_object *v;

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			const char *arr = *(char *const *)p;
			v = json_object_new_array_ext(n);
			for (size_t k = 0; v && k < n; k++)
				json_object_array_add(v, field_value(f, arr + k * elem_size(f->type)));
		} else {
			if (f->label == PROTOBUF_C_LABEL_OPTIONAL && !field_present(m, f))
				continue;
			v = field_value(f, p);
		}
		json_object_object_add(o, f->name, v);
	}
	return o;
}
