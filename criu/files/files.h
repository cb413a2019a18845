/*
 * files.h - file descriptor kinds, one small module each (reg.c, memfd.c,
 * pipe.c, ...), registered in one table (table.c).
 *
 * At dump, every fd of the frozen process is probed once (its /proc link,
 * stat and fdinfo); fds that share an open file description are grouped
 * (kcmp), and the kind whose match() accepts the probe describes the file
 * once into a FileEntry.  At restore, still in the new process before the
 * restorer runs, the kind's open() makes a new open file description from
 * that entry and returns its fd; the caller puts it at every fd number that
 * referred to it.  A kind's module knows nothing of fd numbers, images on
 * disk or other kinds.
 */
#ifndef CRIU_FILES_H
#define CRIU_FILES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "images/image.h"
#include "criu/opts.h"
#include "criu/procfs.h"

/* most bytes of contents one file may carry in the images (ghost, memfd, pipe) */
#define FILE_DATA_LIMIT	(32U << 20)

/* what dump knows about one fd before choosing its kind */
struct fd_probe {
	int fd;
	char *link;		/* readlink of /proc/PID/fd/N */
	struct stat st;		/* stat of /proc/PID/fd/N (the open file itself) */
	struct proc_fdinfo fi;
	char *info;		/* the text of its fdinfo */
	char sk_proto[16];	/* a socket: its system.sockprotoname ("TCP", "UDPv6", "UNIX-STREAM"...) */
	uint32_t file_id;
	bool first;		/* the lowest fd of its open file description */
	bool mqueue;		/* a POSIX message queue (on an mqueue fs) */
};

/* the dump of one process's fds */
struct fd_dump {
	pid_t pid;
	int pidfd;		/* -1 until fd_dump_getfd() needs it */
	const struct opts *o;
	struct fd_probe *probes;	/* sorted by fd */
	size_t nr;
	void *unix_diag;	/* socket.c: every unix socket of the system, once */
	void *pipe_holders;	/* pipe.c: pipes held by other processes, once */
	struct fd_probe **by_ino;	/* probes sorted by device and inode */
	int rootfd;		/* the tree's root when it has its own mount namespace (paths resolve there), else 0 */
};
/* the probes of inode (dev, ino): *first and the count (0 if none) */
size_t fd_dump_inode(const struct fd_dump *d, dev_t dev, ino_t ino, struct fd_probe *const **first);
/* is p the lowest fd of the process on its inode? (the one whose
 * description carries what belongs to the inode: contents, POSIX locks) */
bool fd_dump_first_of_inode(const struct fd_dump *d, const struct fd_probe *p);
/* the text of /proc/PID/fdinfo/FD, whole, in a new string; NULL on error (logged) */
char *fd_read_fdinfo(pid_t pid, int fd);
/* socket.c, pipe.c: free fd_dump.unix_diag, fd_dump.pipe_holders */
void unix_diag_free(void *t);
void pipe_holders_free(void *h);
/* a copy, in criu, of the process's fd (pidfd_getfd: the same open file
 * description, nothing consumed); the caller closes it; -1 on error (logged) */
int fd_dump_getfd(struct fd_dump *d, int fd);
/* the probe of another fd of the process whose link is link, or NULL */
const struct fd_probe *fd_dump_find_link(const struct fd_dump *d, const char *link, int not_fd);
/* the fdinfo text of the process's fd, as probed, in a new string (NULL on
 * error, logged) */
char *fd_dump_fdinfo(struct fd_dump *d, int fd);
/* the probe of the process's fd number fd, or NULL */
const struct fd_probe *fd_dump_probe(const struct fd_dump *d, int fd);
/* is pid the dumped process (-t) or one of its descendants?  An end held
 * there is not external: it is part of the dump (process trees) */
bool fd_pid_in_tree(const struct fd_dump *d, pid_t pid);
/* another process holding an fd whose link is link (its pid, *fd), or 0 */
pid_t fd_find_holder(const struct fd_dump *d, const char *link, int *fd);
/* a dev_t as the kernel prints it in fdinfo (major << 20 | minor) to st_dev */
dev_t fd_kdev_to_dev(unsigned long kdev);

/* the masters of the pairs restore made for slaves whose master was
 * outside the tree (--orphan-pts-master), kept by criu for their taker */
#define FD_ORPHANS_MAX 16
struct pty_reserved;
struct fd_orphans {
	int fd[FD_ORPHANS_MAX];
	int nr;
	struct pty_reserved *early;	/* masters the mounts needed first (criu/files/pty-ns.h) */
};

/* the restore of one process's fds: in the new process */
struct fd_rst {
	const FileEntry **file;	/* by file id */
	uint32_t nr_files;	/* ids are 1..nr_files */
	int *where;		/* by file id: where its fd is now, -1 if not open */
	bool *stashed;		/* by file id: where[] is a stash, not a target fd */
	int stash_base;		/* stashes live at or above this fd number */
	const int *tty;		/* criu's stdio, for --shell-job terminals */
	int target_fd;		/* the fd number being placed */
	const struct opts *o;	/* --inherit-fd */
	const int *inherit;	/* per --inherit-fd: its fd in the new process */
	const int *shared_fd;	/* by shared id: the tree's file, made by criu, or -1 */
	/* the file criu made once for the tree for inode (dev, ino) (a memfd,
	 * a deleted file: fd_ops.object), or -1 */
	int (*object_fd)(const struct fd_rst *r, uint64_t dev, uint64_t ino);
	const void *object_ctx;
	bool in_criu;		/* criu making the tree's shared files, not a process of it */
	struct fd_orphans *orphans;	/* in criu: where orphan pairs' masters go */
};
/* the files whose kind says early(), opened and kept (stashed) before the
 * process creates its children; 0 or -1 (logged) */
int fd_rst_open_early(struct fd_rst *r);
/* keeps fd (of file id, made by another file's open) until a later target
 * fd needs it, with file id's status flags; closes fd */
int fd_rst_stash(struct fd_rst *r, uint32_t id, int fd);

/* a file made once by criu for the whole tree, whose open file
 * descriptions reopen it (a memfd, a deleted file): dev 0 for memfds and
 * shared memory (their inodes are one file system's) */
struct fd_object {
	uint64_t dev, ino;
	bool carrier;		/* this description carries the file's contents */
};

struct fd_ops {
	FdKind kind;
	const char *name;
	bool per_fd;		/* restore: open() for every fd, not once per file */
	/* dump: does this kind handle the probed fd? */
	bool (*match)(const struct fd_probe *p);
	/* dump: fills fe (kind, flags set by the caller) from the first fd of the file */
	int (*dump)(struct fd_dump *d, const struct fd_probe *p, FileEntry *fe);
	/* restore, before anything is created: can fe be opened here?  name: image name */
	int (*check)(const FileEntry *fe, const struct opts *o, const char *name);
	/* restore, in the new process: a new fd for fe with its flags and state */
	int (*open)(struct fd_rst *r, const FileEntry *fe);
	/* restore, optional: before the process's children are created, what
	 * they inherit from it (a controlling terminal); may make fe and keep
	 * it (fd_rst_stash); 0 or -1 */
	int (*early)(struct fd_rst *r, const FileEntry *fe);
	/* restore, optional: once every fd is in place (epoll's watches); fd is
	 * where fe is now */
	int (*post)(struct fd_rst *r, const FileEntry *fe, int fd);
	/* restore, optional: is fe a description of a file made once for the
	 * tree?  Fills *k */
	bool (*object)(const FileEntry *fe, struct fd_object *k);
	/* restore, in criu, optional: makes that file from fe (its carrier):
	 * contents, size, owner, mode; its fd (close-on-exec) or -1.  rootfd:
	 * the tree's root in criu's view when it has its own mount namespace
	 * (its paths resolve there: criu/ns/mnt.h), else 0 */
	int (*object_make)(const FileEntry *fe, int rootfd);
};

const struct fd_ops *fd_ops_by_kind(FdKind kind);
const struct fd_ops *fd_ops_match(const struct fd_probe *p);

/* the kinds (one module each) */
extern const struct fd_ops fd_reg_ops, fd_chr_ops, fd_tty_ops, fd_memfd_ops, fd_pipe_ops,
	fd_fifo_ops, fd_eventfd_ops, fd_signalfd_ops, fd_timerfd_ops, fd_epoll_ops, fd_inotify_ops,
	fd_unixsk_ops, fd_pty_ops, fd_pidfd_ops, fd_inetsk_ops, fd_netlinksk_ops, fd_packetsk_ops, fd_tun_ops,
	fd_mqueue_ops;

/* inherit.c: --inherit-fd fd[N]:KEY.  Parses one (0, or -1 if malformed) */
int fd_inherit_parse(const char *arg, int *fd, const char **key);
/* restore, before anything is created: fe is inherited, or its kind's check() */
int fd_check(const FileEntry *fe, const struct opts *o, const char *name);
/* restore, in the new process: the inherited fd, or its kind's open() */
int fd_rst_open(struct fd_rst *r, const FileEntry *fe);

/* reg.c: a deleted directory that is the cwd of process pid (path without
 * " (deleted)", st its stat), as a ghost; NULL on error (logged) */
RegFile *fd_dump_deleted_cwd(pid_t pid, const char *path, const struct stat *st);

/* fdstate.c: locks and F_SETOWN/F_SETSIG owner, for any kind.  POSIX locks
 * belong to the process and the inode: posix_locks says this is the first
 * file of its inode, the one that carries them */
int fd_dump_state(struct fd_dump *d, const struct fd_probe *p, bool posix_locks, FileEntry *fe);
/* once every fd is in place; fd is where fe is */
int fd_restore_state(const FileEntry *fe, int fd);

/* shared helpers */
/* a new open file description of the file open at fd (/proc/self/fd),
 * with flags (O_CREAT, O_EXCL, O_TRUNC ignored); -1 on error (logged) */
/*
 * The flags open() takes of a file's saved ones: not O_ASYNC, which an
 * open() keeps in the flags without registering the file for signal-driven
 * I/O (and F_SETFL then sees it set and registers nothing): it is set
 * afterwards with F_SETFL (fd_restore_state); not O_TMPFILE (with its
 * O_DIRECTORY), which would make a new file: the file made again by
 * fd_make_removed is reopened
 */
#define FD_TMPFILE_BIT		(O_TMPFILE & ~O_DIRECTORY)
#define FD_OPEN_FLAGS(f)	((f) & ~(O_CREAT | O_EXCL | O_TRUNC | O_ASYNC | \
					 (((f) & FD_TMPFILE_BIT) ? O_TMPFILE : 0)))
int fd_reopen(int fd, uint32_t flags, uint32_t id);

/* ghost.c: a file, directory or FIFO of that mode made again at path (or
 * beside it) and removed at once; opened O_RDWR (a FIFO also O_NONBLOCK),
 * a directory O_PATH; -1 on error (logged) */
int fd_make_removed(const char *path, mode_t mode, bool tmpfile);

/* elf-buildid.c: the GNU build-id of an ELF file (NT_GNU_BUILD_ID), as
 * upstream CRIU's --file-validation buildid compares it */
#define FD_BUILD_ID_MAX	64
/* the build-id of the file at fd into id (at most max bytes): its length,
 * 0 if it is no ELF file or has none, -1 on a read error (errno) */
int fd_elf_build_id(int fd, uint8_t *id, size_t max);
/* compares it with want (len bytes): 0 the same, 1 another or none (its
 * hex, or "none", in now), -1 on a read error */
int fd_build_id_cmp(int fd, const uint8_t *want, size_t len, char *now, size_t nowlen);
/* n bytes as hex into out (len bytes, NUL-terminated; cut if short) */
void fd_hex(const uint8_t *b, size_t n, char *out, size_t len);

/* extents.c: a file's contents as runs of data, holes left out */
/* the write lifetime hint of fd's inode (F_GET_RW_HINT): 0 if none or unknown */
uint64_t fd_get_rw_hint(int fd);
/* sets it again (nothing for 0); -1 on error (logged) */
int fd_set_rw_hint(int fd, uint64_t hint, const char *what);
struct fd_extents {
	FileExtent **v;
	size_t nr;
};
/* the runs of data of the first size bytes of fd (read with pread): x->v
 * is set even on error, for the caller to free with its message */
int fd_read_extents(int fd, uint64_t size, const char *what, struct fd_extents *x);
/* runs ascending, disjoint, inside size, under FILE_DATA_LIMIT in all */
int fd_check_extents(FileExtent *const *v, size_t n, uint64_t size, const char *what);
/* writes the runs into fd (an empty file) and sets its size */
int fd_write_extents(int fd, FileExtent *const *v, size_t n, uint64_t size, const char *what);
/* F_SETFL with the status flags of fe->flags that fcntl can set */
int fd_set_status_flags(int fd, uint32_t flags, uint32_t id);

#endif /* CRIU_FILES_H */
