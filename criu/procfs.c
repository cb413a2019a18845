/* procfs.c - readers of /proc/PID files (see procfs.h). */
#define LOG_PREFIX "proc: "
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/log.h"
#include "criu/procfs.h"

static FILE *proc_fopen(pid_t pid, const char *name)
{
	char path[64];
	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	else
		snprintf(path, sizeof(path), "/proc/self/%s", name);
	FILE *f = fopen(path, "re");
	if (!f)
		pr_perror("cannot open %s", path);
	return f;
}

ssize_t proc_read_file(pid_t pid, const char *name, void *buf, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("cannot open %s", path);
		return -1;
	}
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0) {
			pr_perror("cannot read %s", path);
			close(fd);
			return -1;
		}
		if (!n)
			break;
		got += n;
	}
	close(fd);
	return got;
}

static void parse_vmflags(struct proc_vma *v, const char *s)
{
	static const struct { char name[3]; uint32_t bit; } flags[] = {
		{ "hg", VMA_F_HUGEPAGE }, { "nh", VMA_F_NOHUGEPAGE },
		{ "dc", VMA_F_DONTFORK }, { "wf", VMA_F_WIPEONFORK },
		{ "dd", VMA_F_DONTDUMP }, { "mg", VMA_F_MERGEABLE },
		{ "ac", VMA_F_ACCOUNT }, { "nr", VMA_F_NORESERVE },
		{ "uw", VMA_F_UFFD_WP }, { "rr", VMA_F_RANDOM }, { "sr", VMA_F_SEQUENTIAL },
		{ "lo", VMA_F_LOCKED }, { "lf", VMA_F_LOCKONFAULT }, { "mw", VMA_F_MAYWRITE },
	};
	while (*s) {
		while (*s == ' ')
			s++;
		if (!s[0] || !s[1])
			break;
		if (s[0] == 'g' && s[1] == 'd')
			v->growsdown = true;
		for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
			if (s[0] == flags[i].name[0] && s[1] == flags[i].name[1])
				v->vm_flags |= flags[i].bit;
		s += 2;
	}
}

int proc_read_maps(pid_t pid, bool with_flags, struct proc_maps *out)
{
	FILE *f = proc_fopen(pid, with_flags ? "smaps" : "maps");
	size_t cap = 0;
	char *line = NULL;
	size_t linecap = 0;

	memset(out, 0, sizeof(*out));
	if (!f)
		return -1;
	while (getline(&line, &linecap, f) > 0) {
		uint64_t start, end, pgoff, ino;
		unsigned maj, min;
		char perms[8];
		int pos = 0;

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %x:%x %" SCNu64 " %n",
			   &start, &end, perms, &pgoff, &maj, &min, &ino, &pos) >= 7 && pos) {
			if (out->nr == cap) {
				cap = cap ? cap * 2 : 64;
				struct proc_vma *n = realloc(out->vmas, cap * sizeof(*n));
				if (!n)
					goto err;
				out->vmas = n;
			}
			struct proc_vma *v = &out->vmas[out->nr++];
			memset(v, 0, offsetof(struct proc_vma, path));
			v->start = start;
			v->end = end;
			v->pgoff = pgoff;
			v->dev = makedev(maj, min);	/* as st_dev: minors above 255 too */
			v->ino = ino;
			v->r = perms[0] == 'r';
			v->w = perms[1] == 'w';
			v->x = perms[2] == 'x';
			v->shared = perms[3] == 's';
			char *p = line + pos;
			p[strcspn(p, "\n")] = 0;
			snprintf(v->path, sizeof(v->path), "%s", p);
		} else if (with_flags && out->nr && !strncmp(line, "VmFlags:", 8)) {
			parse_vmflags(&out->vmas[out->nr - 1], line + 8);
		} else if (with_flags && out->nr && !strncmp(line, "ProtectionKey:", 14)) {
			out->vmas[out->nr - 1].pkey = strtoul(line + 14, NULL, 10);
		}
	}
	free(line);
	fclose(f);
	return 0;
err:
	free(line);
	fclose(f);
	proc_maps_free(out);
	return -1;
}

void proc_maps_free(struct proc_maps *m)
{
	free(m->vmas);
	m->vmas = NULL;
	m->nr = 0;
}

int proc_read_stat(pid_t pid, struct proc_stat *st)
{
	char buf[4096];
	ssize_t n = proc_read_file(pid, "stat", buf, sizeof(buf) - 1);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *open = strchr(buf, '('), *close = strrchr(buf, ')');
	if (!open || !close) {
		pr_err("/proc/%d/stat: unexpected format", pid);
		return -1;
	}
	memset(st, 0, sizeof(*st));
	size_t clen = close - open - 1;
	if (clen >= sizeof(st->comm))
		clen = sizeof(st->comm) - 1;
	memcpy(st->comm, open + 1, clen);

	/* fields from 3 (state) on, split by spaces */
	uint64_t f[64] = { 0 };
	char *save, *tok = strtok_r(close + 2, " ", &save);
	int i = 3;
	if (tok)
		st->state = tok[0];
	while ((tok = strtok_r(NULL, " ", &save)) && ++i < 64)
		f[i] = strtoull(tok, NULL, 10);
	if (i < 51) {
		pr_err("/proc/%d/stat: only %d fields", pid, i);
		return -1;
	}
	st->ppid = f[4];
	st->pgid = f[5];
	st->sid = f[6];
	st->tty_nr = f[7];
	st->nr_threads = f[20];
	st->exit_signal = f[38];
	st->exit_code = i >= 52 ? (int)f[52] : 0;
	st->start_code = f[26];
	st->end_code = f[27];
	st->start_stack = f[28];
	st->start_data = f[45];
	st->end_data = f[46];
	st->start_brk = f[47];
	st->arg_start = f[48];
	st->arg_end = f[49];
	st->env_start = f[50];
	st->env_end = f[51];
	return 0;
}

int proc_status_field(pid_t pid, const char *field, char *buf, size_t len)
{
	return proc_status_field_of(pid, "status", field, buf, len);
}

int proc_status_field_of(pid_t pid, const char *file, const char *field, char *buf, size_t len)
{
	FILE *f = proc_fopen(pid, file);
	char line[512];
	size_t flen = strlen(field);
	int ret = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, field, flen))
			continue;
		char *p = line + flen;
		while (*p == ' ' || *p == '\t')
			p++;
		p[strcspn(p, "\n")] = 0;
		snprintf(buf, len, "%s", p);
		ret = 0;
		break;
	}
	fclose(f);
	if (ret)
		pr_err("/proc/%d/status: no %s field", pid, field);
	return ret;
}

int proc_read_fdinfo(pid_t pid, int fd, struct proc_fdinfo *fi)
{
	char name[64], line[256];
	snprintf(name, sizeof(name), "fdinfo/%d", fd);
	FILE *f = proc_fopen(pid, name);
	int seen = 0;

	if (!f)
		return -1;
	memset(fi, 0, sizeof(*fi));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "pos: %" SCNu64, &fi->pos) == 1)
			seen |= 1;
		else if (sscanf(line, "flags: %o", &fi->flags) == 1)
			seen |= 2;
		else if (sscanf(line, "mnt_id: %d", &fi->mnt_id) == 1)
			seen |= 4;
	}
	fclose(f);
	if ((seen & 3) != 3) {
		pr_err("/proc/%d/fdinfo/%d: missing pos or flags", pid, fd);
		return -1;
	}
	return 0;
}
