/*
 * pbjson.h - generic conversion of an unpacked protobuf-c message to a
 * json-c object, driven only by the message's descriptors.
 *
 * Owns the JSON rendering rules of `criu show`: enums by name, uint64 fields
 * whose name is an address as "0x..." strings, short bytes as hex, long
 * bytes as their length and first bytes, repeated fields as arrays, absent
 * optional fields left out.
 */
#ifndef IMAGES_PBJSON_H
#define IMAGES_PBJSON_H

#include <json-c/json.h>
#include <protobuf-c/protobuf-c.h>

/* bytes fields up to this size are shown whole, as hex */
#define PBJSON_BYTES_WHOLE	64
/* of longer ones, this many leading bytes are shown */
#define PBJSON_BYTES_HEAD	32

/* returns a new object, or NULL if out of memory */
json_object *pbjson_message(const ProtobufCMessage *m);

#endif /* IMAGES_PBJSON_H */
