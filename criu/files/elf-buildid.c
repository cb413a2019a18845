/*
 * elf-buildid.c - the GNU build-id of an ELF file (its NT_GNU_BUILD_ID
 * note), what upstream CRIU's "buildid" file validation compares: a file
 * rewritten in place (same inode, maybe the same size) with another build
 * is another program.  Reads the headers and note segments with pread and
 * nothing else; knows nothing of processes or images.
 */
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "criu/files/files.h"

/* most bytes of program headers and of one note segment looked at */
#define HDRS_MAX	(64U << 10)

/* the desc of the NT_GNU_BUILD_ID note in the notes of buf, or 0 */
static size_t find_note(const uint8_t *buf, size_t len, uint8_t *id, size_t max)
{
	size_t off = 0;

	while (off + sizeof(Elf64_Nhdr) <= len) {
		Elf64_Nhdr n;	/* Elf32_Nhdr has the same layout */
		memcpy(&n, buf + off, sizeof(n));
		size_t name = off + sizeof(n), desc = name + ((n.n_namesz + 3) & ~3U);
		size_t next = desc + ((n.n_descsz + 3) & ~3U);
		if (n.n_namesz > len || n.n_descsz > len || next > len)
			return 0;
		if (n.n_type == NT_GNU_BUILD_ID && n.n_namesz == 4 && !memcmp(buf + name, "GNU", 4) &&
		    n.n_descsz && n.n_descsz <= max) {
			memcpy(id, buf + desc, n.n_descsz);
			return n.n_descsz;
		}
		off = next;
	}
	return 0;
}

/* one program header, of either class, as 64-bit fields */
static void phdr_at(const uint8_t *p, bool is64, uint32_t *type, uint64_t *off, uint64_t *size)
{
	if (is64) {
		Elf64_Phdr h;
		memcpy(&h, p, sizeof(h));
		*type = h.p_type, *off = h.p_offset, *size = h.p_filesz;
	} else {
		Elf32_Phdr h;
		memcpy(&h, p, sizeof(h));
		*type = h.p_type, *off = h.p_offset, *size = h.p_filesz;
	}
}

/* the build-id in the note segments of the file at fd, whose program
 * headers (phnum of phent bytes) are at phoff */
static int scan_notes(int fd, bool is64, uint64_t phoff, size_t phnum, size_t phent,
		      uint8_t *id, size_t max)
{
	uint8_t *hdrs = malloc(phnum * phent), *buf = malloc(HDRS_MAX);
	int ret = 0;

	if (!hdrs || !buf) {
		ret = -1;
		goto out;
	}
	ssize_t n = pread(fd, hdrs, phnum * phent, phoff);
	for (size_t i = 0; n > 0 && (i + 1) * phent <= (size_t)n && !ret; i++) {
		uint32_t type;
		uint64_t off, size;
		phdr_at(hdrs + i * phent, is64, &type, &off, &size);
		if (type != PT_NOTE || !size || size > HDRS_MAX)
			continue;
		ssize_t got = pread(fd, buf, size, off);
		ret = got < 0 ? -1 : (int)find_note(buf, got, id, max);
	}
	if (n < 0)
		ret = -1;
out:
	free(hdrs);
	free(buf);
	return ret;
}

int fd_elf_build_id(int fd, uint8_t *id, size_t max)
{
	Elf64_Ehdr eh;

	ssize_t n = pread(fd, &eh, sizeof(eh), 0);
	if (n < 0)
		return -1;
	if (n < (ssize_t)sizeof(Elf32_Ehdr) || memcmp(eh.e_ident, ELFMAG, SELFMAG))
		return 0;
	bool is64 = eh.e_ident[EI_CLASS] == ELFCLASS64;
	uint64_t phoff;
	size_t phnum, phent;
	if (is64) {
		phoff = eh.e_phoff, phnum = eh.e_phnum, phent = eh.e_phentsize;
	} else {
		Elf32_Ehdr e32;
		memcpy(&e32, &eh, sizeof(e32));
		phoff = e32.e_phoff, phnum = e32.e_phnum, phent = e32.e_phentsize;
	}
	if (!phnum || phent != (is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)) || phnum * phent > HDRS_MAX)
		return 0;
	return scan_notes(fd, is64, phoff, phnum, phent, id, max);
}

void fd_hex(const uint8_t *b, size_t n, char *out, size_t len)
{
	size_t o = 0;
	out[0] = 0;
	for (size_t i = 0; i < n && o + 3 <= len; i++)
		o += snprintf(out + o, len - o, "%02x", b[i]);
}

int fd_build_id_cmp(int fd, const uint8_t *want, size_t len, char *now, size_t nowlen)
{
	uint8_t id[FD_BUILD_ID_MAX];
	int n = fd_elf_build_id(fd, id, sizeof(id));

	if (n < 0)
		return -1;
	if ((size_t)n == len && !memcmp(id, want, len))
		return 0;
	if (n)
		fd_hex(id, n, now, nowlen);
	else
		snprintf(now, nowlen, "none");
	return 1;
}
