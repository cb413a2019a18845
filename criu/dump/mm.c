/*
 * mm.c - the memory map of a task and its mm fields, as an Mm image
 * object.  Mappings this tool cannot restore are refused here, naming the
 * process and the mapping, so that they never turn into a broken restore.
 */
#define LOG_PREFIX "mm: "
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "criu/dump/dump.h"
#include "criu/files/files.h"
#include "common/log.h"

static const char *deleted_suffix = " (deleted)";
static const char *memfd_prefix = "/memfd:";

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

/* decides the kind of a mapping; <0 if we cannot restore it */
static int vma_kind(pid_t pid, const struct proc_vma *v, VmaKind *kind)
{
	const char *path = v->path;

	if (!strcmp(path, "[vdso]")) { *kind = VMA_KIND__VMA_VDSO; return 0; }
	if (!strcmp(path, "[vvar]")) { *kind = VMA_KIND__VMA_VVAR; return 0; }
	if (!strcmp(path, "[vvar_vclock]")) { *kind = VMA_KIND__VMA_VVAR_VCLOCK; return 0; }
	if (!strcmp(path, "[vsyscall]")) { *kind = VMA_KIND__VMA_VSYSCALL; return 0; }
	if (v->shared) {
		if (!strcmp(path, "/dev/zero (deleted)") || !strcmp(path, "/dev/zero")) {
			*kind = VMA_KIND__VMA_ANON_SHARED;
			return 0;
		}
		if (path[0] == '/' && !ends_with(path, deleted_suffix)) {
			*kind = VMA_KIND__VMA_FILE_SHARED;
			return 0;
		}
		if (!strncmp(path, memfd_prefix, strlen(memfd_prefix)) && ends_with(path, deleted_suffix)) {
			*kind = VMA_KIND__VMA_MEMFD_SHARED;
			return 0;
		}
		if (!strncmp(path, "/SYSV", 5) && ends_with(path, deleted_suffix)) {
			*kind = VMA_KIND__VMA_SYSV_SHM;
			return 0;
		}
		pr_err("pid %d: shared mapping %lx-%lx of '%s' is not supported (deleted file)",
		       pid, (unsigned long)v->start, (unsigned long)v->end, path);
		return -1;
	}
	if (path[0] == '/') {
		if (ends_with(path, deleted_suffix)) {
			pr_err("pid %d: mapping %lx-%lx of deleted file '%s' is not supported",
			       pid, (unsigned long)v->start, (unsigned long)v->end, path);
			return -1;
		}
		*kind = VMA_KIND__VMA_FILE_PRIVATE;
		return 0;
	}
	if (!path[0] || !strcmp(path, "[heap]") || !strcmp(path, "[stack]") ||
	    !strncmp(path, "[anon:", 6)) {
		*kind = VMA_KIND__VMA_ANON_PRIVATE;
		return 0;
	}
	pr_err("pid %d: special mapping %lx-%lx '%s' is not supported",
	       pid, (unsigned long)v->start, (unsigned long)v->end, path);
	return -1;
}

/*
 * A memfd sealed against writing: restore maps it writable to fill it,
 * which the seal forbids (and the seal cannot be added once a writable
 * mapping exists).  Refused.  Its other seals and its mode are kept (e).
 */
static int memfd_write_sealed(pid_t pid, const char *map_file, const struct proc_vma *v, Vma *e)
{
	int fd = open(map_file, O_RDONLY | O_CLOEXEC);
	int seals = fd < 0 ? -1 : fcntl(fd, F_GET_SEALS);
	struct stat st;

	if (fd >= 0 && !fstat(fd, &st)) {
		e->has_memfd_mode = true;
		e->memfd_mode = st.st_mode & 07777;
	}
	if (fd >= 0)
		close(fd);
	e->has_memfd_seals = seals >= 0;
	e->memfd_seals = seals;
	if (seals < 0) {
		pr_perror("pid %d: cannot read the seals of the memfd mapped at %lx", pid,
			  (unsigned long)v->start);
		return -1;
	}
	if (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) {
		pr_err("pid %d: mapping %lx-%lx of '%s', sealed against writing: not supported", pid,
		       (unsigned long)v->start, (unsigned long)v->end, v->path);
		return -1;
	}
	return 0;
}

void vma_image_flags(Vma *e, const struct proc_vma *v)
{
	e->flags &= ~(MAP_GROWSDOWN | MAP_NORESERVE);
	if (v->growsdown)
		e->flags |= MAP_GROWSDOWN;
	if (v->vm_flags & VMA_F_NORESERVE)
		e->flags |= MAP_NORESERVE;
	e->has_vm_flags = true;
	e->vm_flags = v->vm_flags;
	e->has_pkey = v->pkey != 0;
	e->pkey = v->pkey;
}

/*
 * The build-id of an ELF file mapped from its start (--file-validation
 * buildid, the default): once per file, on its mapping at offset 0, read
 * through map_files (no fd of the process needed)
 */
static int vma_build_id(pid_t pid, const char *mf, const struct proc_vma *v, Vma *e)
{
	uint8_t id[FD_BUILD_ID_MAX];

	if (v->pgoff || !e->has_file_size || e->file_size < sizeof(Elf32_Ehdr))
		return 0;
	int fd = open(mf, O_RDONLY | O_NOATIME | O_CLOEXEC);
	int n = fd < 0 ? -1 : fd_elf_build_id(fd, id, sizeof(id)), err = errno;
	if (fd >= 0)
		close(fd);
	if (n < 0) {
		errno = err;
		pr_warn("pid %d: cannot read %s for its build-id: %m (its size alone is checked)", pid, v->path);
		return 0;
	}
	if (!n)
		return 0;
	e->build_id.data = malloc(n);
	if (!e->build_id.data)
		return -1;
	memcpy(e->build_id.data, id, n);
	e->build_id.len = n;
	e->has_build_id = true;
	return 0;
}

static Vma *vma_to_image(pid_t pid, const struct proc_vma *v, bool build_id)
{
	VmaKind kind;
	if (vma_kind(pid, v, &kind))
		return NULL;
	Vma *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	vma__init(e);
	e->start = v->start;
	e->end = v->end;
	e->prot = (v->r ? PROT_READ : 0) | (v->w ? PROT_WRITE : 0) | (v->x ? PROT_EXEC : 0);
	e->flags = v->shared ? MAP_SHARED : MAP_PRIVATE;
	if (kind == VMA_KIND__VMA_ANON_PRIVATE || kind == VMA_KIND__VMA_ANON_SHARED)
		e->flags |= MAP_ANONYMOUS;
	e->kind = kind;
	vma_image_flags(e, v);
	if (kind == VMA_KIND__VMA_FILE_PRIVATE || kind == VMA_KIND__VMA_FILE_SHARED) {
		e->has_pgoff = e->has_dev = e->has_ino = true;
		e->pgoff = v->pgoff;
		e->dev = v->dev;
		e->ino = v->ino;
		e->path = strdup(v->path);
		/* size and mtime: the file's identity where its device may change */
		char mf[96];
		struct stat st;
		snprintf(mf, sizeof(mf), "/proc/%d/map_files/%lx-%lx", pid, (unsigned long)v->start,
			 (unsigned long)v->end);
		if (!stat(mf, &st) && st.st_ino == v->ino) {
			e->has_file_size = e->has_file_mtime_ns = true;
			e->file_size = st.st_size;
			e->file_mtime_ns = st.st_mtim.tv_sec * 1000000000ULL + st.st_mtim.tv_nsec;
		}
		if (build_id && vma_build_id(pid, mf, v, e)) {
			free(e->path);
			free(e);
			return NULL;
		}
	} else if (kind == VMA_KIND__VMA_SYSV_SHM) {
		/* the segment's id is its inode; the whole segment, attached at its start */
		char mf[96];
		struct stat st;
		snprintf(mf, sizeof(mf), "/proc/%d/map_files/%lx-%lx", pid, (unsigned long)v->start,
			 (unsigned long)v->end);
		e->has_pgoff = e->has_ino = e->has_shm_size = true;
		e->pgoff = v->pgoff;
		e->ino = v->ino;
		e->shm_size = stat(mf, &st) == 0 ? (uint64_t)st.st_size : 0;
		e->name = strdup(v->path);
		if (v->pgoff || e->shm_size == 0 ||
		    v->end - v->start != ((e->shm_size + 4095) & ~4095ULL)) {
			pr_err("pid %d: SysV shm segment %lu mapped at %lx-%lx is not attached whole (part unmapped or protected apart): not supported",
			       pid, (unsigned long)v->ino, (unsigned long)v->start, (unsigned long)v->end);
			free(e->name);
			free(e);
			return NULL;
		}
	} else if (kind == VMA_KIND__VMA_ANON_SHARED || kind == VMA_KIND__VMA_MEMFD_SHARED) {
		/* one shmem object, maybe mapped by several processes: its inode names it */
		char mf[96];
		struct stat st;
		snprintf(mf, sizeof(mf), "/proc/%d/map_files/%lx-%lx", pid, (unsigned long)v->start,
			 (unsigned long)v->end);
		e->has_pgoff = e->has_ino = e->has_shm_size = true;
		e->pgoff = v->pgoff;
		e->ino = v->ino;
		e->shm_size = stat(mf, &st) == 0 ? (uint64_t)st.st_size : v->pgoff + (v->end - v->start);
		if (kind == VMA_KIND__VMA_ANON_SHARED) {
			e->name = strdup(v->path);
		} else {
			/* the memfd's own name, between "/memfd:" and " (deleted)" */
			size_t n = strlen(v->path) - strlen(memfd_prefix) - strlen(deleted_suffix);
			e->name = strndup(v->path + strlen(memfd_prefix), n);
			if (memfd_write_sealed(pid, mf, v, e)) {
				free(e->name);
				free(e);
				return NULL;
			}
		}
	} else if (v->path[0]) {
		e->name = strdup(v->path);
	}
	return e;
}

int dump_mm(struct dump_proc *p, uint64_t brk, bool build_ids)
{
	pid_t pid = p->pid;
	Mm *mm = calloc(1, sizeof(*mm));
	uint64_t auxv[128];
	char exe[PATH_MAX], link[64];

	if (!mm)
		return -1;
	mm__init(mm);
	p->mm = mm;
	mm->start_code = p->stat.start_code;
	mm->end_code = p->stat.end_code;
	mm->start_data = p->stat.start_data;
	mm->end_data = p->stat.end_data;
	mm->start_brk = p->stat.start_brk;
	mm->brk = brk;
	mm->start_stack = p->stat.start_stack;
	mm->arg_start = p->stat.arg_start;
	mm->arg_end = p->stat.arg_end;
	mm->env_start = p->stat.env_start;
	mm->env_end = p->stat.env_end;

	ssize_t n = proc_read_file(pid, "auxv", auxv, sizeof(auxv));
	if (n <= 0 || n % 16) {
		pr_err("pid %d: cannot read auxv", pid);
		return -1;
	}
	mm->n_auxv = n / 8;
	mm->auxv = malloc(n);
	if (!mm->auxv)
		return -1;
	memcpy(mm->auxv, auxv, n);

	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n < 0) {
		pr_perror("pid %d: cannot read the executable link", pid);
		return -1;
	}
	exe[n] = 0;
	if (ends_with(exe, deleted_suffix)) {
		pr_err("pid %d: its executable %s was deleted", pid, exe);
		return -1;
	}
	mm->exe_path = strdup(exe);

	mm->vmas = calloc(p->maps.nr, sizeof(Vma *));
	if (!mm->vmas || !mm->exe_path)
		return -1;
	for (size_t i = 0; i < p->maps.nr; i++) {
		Vma *v = vma_to_image(pid, &p->maps.vmas[i], build_ids);
		if (!v)
			return -1;
		mm->vmas[mm->n_vmas++] = v;
	}
	return 0;
}
