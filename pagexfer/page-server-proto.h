/*
 * page-server-proto.h - the page-server protocol (TCP), version 5.
 *
 * `criu page-server` serves the page images of a directory, and `criu dump
 * --lazy-pages` the memory of the frozen process it dumped (post-copy);
 * `criu lazy-pages --page-server` and `criu restore --lazy-pages
 * --page-server` (for the pages it fills eagerly) are its clients.  A
 * server serves several connections at once.  All integers are
 * little-endian.
 *
 * With --tls the connection is a TLS session first (ps-tls.h: both ends
 * present certificates).  The client opens with struct ps_hello {PS_MAGIC,
 * PS_VERSION, token}: without TLS the token of ps-sec.h (with TLS zeros);
 * the server answers with the same struct carrying its own version and a
 * status: 0, EACCES (wrong token: closed), ESTALE (the client's dump_id,
 * the id of the dump its images are of, is not the server's: closed) or
 * EBUSY (too many clients: closed), and closes the connection if the
 * versions differ.  Both ends put the id of their dump in dump_id: a
 * client never gets the pages of another dump.  A connection
 * that has not said a whole, right hello within PS_HELLO_MS is closed;
 * only an authenticated connection is ever served, counted as a client or
 * heard (PS_BYE).  Then the client sends requests, one
 * at a time, each a struct ps_req, and gets one struct ps_reply followed by
 * reply.len bytes of payload:
 *
 *   PS_MAP  (pid)             the pagemap of process pid: payload is
 *                             reply.len / sizeof(struct ps_run) ps_run
 *                             entries, sorted by vaddr, cut at every 16 KiB
 *                             boundary of the address space (a client
 *                             checks 16 KiB at a time); reply.flags:
 *                             PS_MAP_UNHASHED or 0
 *   PS_READ (pid, addr, len)  the data of pages [addr, addr+len): addr and
 *                             len page aligned, 0 < len <= PS_MAX_READ, every
 *                             page in the image; payload is len bytes
 *   PS_BYE                    the client is done and every page it needed
 *                             is in place: the server acknowledges it (an
 *                             empty reply) and ends (a post-copy dump then
 *                             kills its source process)
 *   PS_CLOSE                  this connection is done, with no verdict (the
 *                             restore's eager fetch): the server serves on;
 *                             no reply
 *   PS_ABORT                  the client failed and every copy it restored
 *                             is dead: as a lost connection, but never
 *                             ambiguous (below); no reply
 *
 * A connection that ends without PS_BYE or PS_CLOSE is lost: when no other
 * connection is open the server ends with a failure.  A post-copy dump
 * then resumes its source process (nothing is lost) if some page was
 * never sent or a client said PS_ABORT; but if every page had been sent
 * the restored copy may have all it needs and run, its PS_BYE lost on
 * the way: the dump leaves the source stopped (SIGSTOP) and says so,
 * rather than let two copies run.  A client that gets no acknowledgement
 * of its PS_BYE says so too.
 *
 * A request begun must be whole within PS_REQ_MS, and each reply must go
 * out within PS_IO_MS of progress, or the connection is closed (lost); a
 * client waits PS_IO_MS for any byte of a reply, then fails.
 *
 * Every reply carries the XXH3 of its payload, which the client checks;
 * a map with PS_MAP_UNHASHED has no checksums in its runs (see below).
 *
 * reply.status is 0 or a positive errno (ENOENT: no such process or page,
 * EINVAL: malformed request, EIO: the image cannot be read); an error
 * reply has no payload.  A malformed request (bad op, misaligned or
 * oversized range) gets EINVAL and the connection is closed.  The server
 * never reads outside the image's pages.  The server verifies a process's
 * images (every pagemap entry's XXH3, the whole chain of parents) before
 * answering for it; each ps_run of the map carries the XXH3 of that run's
 * data (unless PS_MAP_UNHASHED), which the client checks before using any
 * page of it.
 */
#ifndef PAGEXFER_PROTO_H
#define PAGEXFER_PROTO_H

#include <linux/types.h>

#define PS_MAGIC	0x53504c43U	/* "CLPS" */
#define PS_VERSION	5	/* 2: PS_CLOSE, several clients, BYE = success, reply XXH3, 64 KiB parts; 3: 16 KiB parts, BYE acknowledged, PS_ABORT; 4: token or TLS, hello status; 5: dump id in the hello */
#define PS_MAX_READ	(4U << 20)
#define PS_MAX_RUNS	(1U << 24)

enum ps_op {
	PS_MAP = 1,
	PS_READ = 2,
	PS_BYE = 3,
	PS_CLOSE = 4,
	PS_ABORT = 5,
};

#define PS_HELLO_MS	5000	/* connect to a whole hello (and TLS handshake) */
#define PS_REQ_MS	10000	/* first byte of a request to its last */
#define PS_IO_MS	20000	/* a peer silent this long, mid-reply or awaited: failed */

struct ps_hello {
	__u32 magic;
	__u32 version;
	__u32 status;		/* the server's answer: 0, EACCES, EBUSY; the client's: 0 */
	__u32 flags;		/* 0 */
	__u8 token[32];		/* the client's token (PS_TOKEN_LEN; zeros with TLS); the server's: zeros */
	__u64 dump_id;		/* the dump whose pages the client wants / the server has (0: unknown) */
};
#define PS_HELLO_HEAD	8	/* magic and version: the same in every version */

struct ps_req {
	__u32 op;		/* enum ps_op */
	__u32 pid;
	__u64 addr;
	__u64 len;
};

struct ps_reply {
	__u32 status;		/* 0 or errno */
	__u32 flags;		/* PS_MAP: PS_MAP_UNHASHED or 0 */
	__u64 len;		/* payload bytes that follow */
	__u64 xxh3;		/* XXH3-64 of the payload (0 without one) */
};

/*
 * The runs carry no XXH3 (0): the pages were never at rest (a post-copy
 * dump serving live memory); each PS_READ reply's xxh3 is what the client
 * checks.
 */
#define PS_MAP_UNHASHED	1U

struct ps_run {
	__u64 vaddr;
	__u64 nr_pages;
	__u64 xxh3;		/* XXH3-64 of the run's nr_pages * 4096 bytes */
};

#endif /* PAGEXFER_PROTO_H */
