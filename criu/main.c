/* main.c - command line parsing (CRIU's option names) and dispatch. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "criu/files/files.h"
#include "criu/ns/mnt-opts.h"
#include "lazy-pages/lazy-pages.h"
#include "pagexfer/page-server.h"
#include "common/log.h"
#include "criu/ns/join-ns.h"
#include "criu/opts.h"
#include "criu/version.h"

static void usage(FILE *f)
{
	fprintf(f,
"Usage:\n"
"  criu dump -t PID -D DIR [--leave-running] [--shell-job] [--ext-unix-sk]\n"
"            [--tcp-established|--tcp-close] [--network-lock nftables|iptables|skip]\n"
"            [-v[N]] [-o LOG]\n"
"            [--prev-images-dir DIR --track-mem]\n"
"  criu dump -t PID -D DIR --track-mem --iterative [--downtime-limit MS]\n"
"            [--max-rounds N] [--lazy-pages --port P [--address A]]\n"
"  criu dump -t PID -D DIR --lazy-pages --port P [--address A]\n"
"  criu dump -t PID -D DIR --leave-running --live-snapshot\n"
"  criu pre-dump -t PID -D DIR --track-mem [--prev-images-dir DIR] [--live-snapshot]\n"
"  criu restore -D DIR [-d|--restore-detached] [--shell-job] [--ext-unix-sk]\n"
"               [--pidfile FILE] [--inherit-fd fd[N]:KEY ...]\n"
"               [--root DIR] [--external mnt[KEY]:PATH ...] [--empty-ns net]\n"
"               [--lazy-pages [--page-server --address A --port P]]\n"
"  criu lazy-pages -D DIR [--page-server --address A --port P] [--lazy-granule SIZE]\n"
"  criu page-server -D DIR --port P [--address A] [--tls ...|--ps-token-file F]\n"
"  criu check [--feature NAME]\n"
"  criu show FILE|DIR\n"
"  criu swrk FD            serve RPC requests on FD (runc, podman)\n"
"\n"
"Options:\n"
"  -t, --tree PID          process to checkpoint\n"
"  -D, --images-dir DIR    directory of image files\n"
"  -R, --leave-running     leave the process running after dump\n"
"  -j, --shell-job         the process was started from a shell: its terminal\n"
"                          fds are taken from criu's own on restore\n"
"      --ext-unix-sk       unix datagram sockets connected to a named socket of\n"
"                          another process are dumped, and connected to that\n"
"                          name again on restore; unix stream sockets\n"
"                          connected outside are dumped as external\n"
"      --tcp-established   (dump) established TCP connections are dumped\n"
"                          (TCP_REPAIR) and restored; without it they are refused\n"
"      --tcp-close         (dump) established TCP connections are restored closed\n"
"      --network-lock nftables|iptables|skip  (dump) how the connections' packets\n"
"                          are dropped from the freeze until the restore\n"
"      --file-validation filesize|buildid  (dump, restore) how a regular file\n"
"                          the process holds or maps is found unchanged at\n"
"                          restore: its size, and with buildid (the default)\n"
"                          also an ELF file's build-id\n"
"      --external veth[IFNAME]:OUTSIDE[@BRIDGE]  the tree's network device\n"
"                          IFNAME is a veth whose peer is OUTSIDE in criu's\n"
"                          namespace; restore makes the pair again (the peer\n"
"                          up, in BRIDGE if given)\n"
"      --external macvlan[IFNAME]:PARENT  the tree's network device IFNAME is\n"
"                          a macvlan on criu's device PARENT; restore makes it\n"
"                          there again\n"
"      --external net[INODE]:KEY  (dump) the tree's network namespace INODE\n"
"                          is the caller's: not saved; (restore) joined, from\n"
"                          --inherit-fd fd[N]:KEY\n"
"      --inherit-fd fd[N]:KEY  (restore) criu's fd N takes the place of the\n"
"                          file KEY: an external pipe:[INODE] or socket:[INODE]\n"
"                          (as dump logged it), or a file's path; repeatable\n"
"  -d, --restore-detached  return once the restored process runs\n"
"      --pidfile FILE      write the restored process's pid to FILE\n"
"      --feature NAME      (check) check one feature only\n"
"      --lazy-pages        (restore) start the process at once; its private\n"
"                          memory arrives from the lazy-pages daemon (started\n"
"                          if none serves DIR)\n"
"                          (dump) post-copy: keep the pages in the frozen\n"
"                          process and serve them on --address/--port until\n"
"                          the restore has them all, then kill it\n"
"      --page-server       (lazy-pages, restore) take every page from a page\n"
"                          server (the restore needs no pages-*.img)\n"
"      --address ADDR      page server address\n"
"      --port PORT         page server port\n"
"      --lazy-granule SIZE (lazy-pages) bytes served per fault: 64K..2M,\n"
"                          a power of two (default 256K)\n"
"      --tls               (page server and its clients) TLS, both ends with a\n"
"                          certificate; without it the client presents the\n"
"                          token of DIR/ps-token (made by the server, 0600)\n"
"      --tls-cacert FILE   trusted CA (default /etc/pki/CA/cacert.pem)\n"
"      --tls-cacrl FILE    revocation list (default /etc/pki/CA/cacrl.pem)\n"
"      --tls-cert FILE     own certificate (default /etc/pki/criu/cert.pem)\n"
"      --tls-key FILE      its key (default /etc/pki/criu/private/key.pem)\n"
"      --tls-no-cn-verify  do not check the server's certificate names --address\n"
"      --ps-token-file FILE  the page-server token (default DIR/ps-token)\n"
"      --track-mem         track the pages the process writes, so that the\n"
"                          next pre-dump or dump copies only those\n"
"      --live-snapshot     (dump --leave-running, pre-dump) freeze the process\n"
"                          only to write-protect its memory and collect its\n"
"                          state; copy memory while it runs, each page before\n"
"                          its first write: the image is the freeze instant\n"
"      --prev-images-dir DIR  the previous pre-dump, relative to -D: pages\n"
"                          not written since are taken from it on restore\n"
"      --iterative         (dump --track-mem) pre-dump rounds into DIR/pre-N\n"
"                          while the process runs, until what it writes\n"
"                          between rounds can be copied within the downtime\n"
"                          limit; then the final dump into DIR\n"
"      --downtime-limit MS (--iterative) the freeze to aim for (default 50)\n"
"      --max-rounds N      (--iterative) pre-dump rounds at most (default 8)\n"
"      --freeze-cgroup PATH (dump, pre-dump) freeze the tree through the\n"
"                          freezer of cgroup PATH (v1 freezer.state or v2\n"
"                          cgroup.freeze) while it is seized\n"
"      --manage-cgroups[=MODE] (restore) each process goes back into its\n"
"                          cgroups.  soft (the default): missing ones are made,\n"
"                          with their saved settings; full: made if missing,\n"
"                          settings written to all; strict: as full, but none\n"
"                          of the tree's cgroups may exist; props: all must\n"
"                          exist, settings written; none: all must exist,\n"
"                          settings left; ignore: it stays in criu's cgroups\n"
"      --cgroup-root [CTRL:]PATH (restore) the root's cgroup (of hierarchy\n"
"                          CTRL, or of all) is PATH; repeatable\n"
"      --root DIR          (restore) the root of the tree's mount namespace:\n"
"                          the container's rootfs, as runc passes it\n"
"      --external mnt[MNT]:KEY  (dump) the mount at MNT inside the tree's mount\n"
"                          namespace is external: not saved, called KEY\n"
"      --external mnt[KEY]:PATH  (restore) bind PATH where mount KEY was\n"
"      --external mnt[]    every mount bound from outside is external (dump),\n"
"                          bound again from the same host path (restore)\n"
"      --ext-mount-map A:B the same as --external mnt[A]:B (auto: mnt[])\n"
"      --empty-ns net      (dump) the tree's network namespace must hold lo\n"
"                          alone (else refused); restored as a new one, lo up\n"
"      --join-ns NS:FILE   (restore) put the tree into the existing uts or ipc\n"
"                          namespace of FILE (or of pid FILE) instead of a new\n"
"                          one filled from the images; repeatable\n"
"  -v[N]                   verbosity: 0 quiet .. 4 debug (-v alone: 4)\n"
"  -o, --log-file FILE     log to FILE instead of stderr\n"
"  -W, --work-dir DIR      relative log file and pidfile paths are in DIR\n"
"      --action-script SCRIPT  run SCRIPT (sh -c) at each step of dump and\n"
"                          restore, CRTOOLS_SCRIPT_ACTION naming the step\n"
"      --status-fd FD      (lazy-pages, page-server, dump --lazy-pages) write\n"
"                          one byte to FD once serving\n"
"      --config FILE       options from FILE, one a line without dashes,\n"
"                          before the command line's\n"
"      --file-locks        accepted: file locks are always dumped\n"
"      --evasive-devices   accepted: devices are reopened by path\n"
"      --orphan-pts-master (dump) a pseudo-terminal slave whose master is outside\n"
"                          the tree (runc's console) is dumped; restore makes\n"
"                          a new pair and hands its master to the RPC client\n"
"                          or --action-script (step orphan-pts-master)\n"
"  -V, --version           print the version\n");
}

/* CRIU's first line (scripts parse it), then this tool's own */
static void print_version(void)
{
	printf("Version: %d.%d\n", CRIU_COMPAT_MAJOR, CRIU_COMPAT_MINOR);
	printf("%s\n", TOOL_NAME_VERSION);
}

/* a whole number from 1 to max, or one error line */
static int parse_count(const char *opt, const char *arg, long max, int *out)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (*end || end == arg || v < 1 || v > max) {
		fprintf(stderr, "error: %s %s: expected a number from 1 to %ld\n", opt, arg, max);
		return -1;
	}
	*out = v;
	return 0;
}

/* a mode --manage-cgroups knows (CRIU's names; restore says which it serves) */
static bool cg_mode_known(const char *m)
{
	static const char *const modes[] = { "soft", "ignore", "none", "props", "full", "strict" };
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(m, modes[i]))
			return true;
	return false;
}

/*
 * Parses the options of argv into *o (argv[0] is skipped; optind is left at
 * the first positional argument).  0: parsed; 1: done (--help, --version
 * printed); -1: an error, said in one line on stderr.  Also used by
 * `criu swrk` (criu/rpc/), which turns each request's options into the
 * same arguments: one meaning per option.
 */
int opts_parse(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{ "tree", required_argument, NULL, 't' },
		{ "images-dir", required_argument, NULL, 'D' },
		{ "leave-running", no_argument, NULL, 'R' },
		{ "shell-job", no_argument, NULL, 'j' },
		{ "orphan-pts-master", no_argument, NULL, 1315 },
		{ "ext-unix-sk", no_argument, NULL, 1004 },
		{ "inherit-fd", required_argument, NULL, 1005 },
		{ "restore-detached", no_argument, NULL, 'd' },
		{ "pidfile", required_argument, NULL, 1000 },
		{ "feature", required_argument, NULL, 1001 },
		{ "lazy-pages", no_argument, NULL, 1100 },
		{ "page-server", no_argument, NULL, 1101 },
		{ "address", required_argument, NULL, 1102 },
		{ "port", required_argument, NULL, 1103 },
		{ "lazy-granule", required_argument, NULL, 1104 },
		{ "tls", no_argument, NULL, 1110 },
		{ "tls-cacert", required_argument, NULL, 1111 },
		{ "tls-cacrl", required_argument, NULL, 1112 },
		{ "tls-cert", required_argument, NULL, 1113 },
		{ "tls-key", required_argument, NULL, 1114 },
		{ "tls-no-cn-verify", no_argument, NULL, 1115 },
		{ "ps-token-file", required_argument, NULL, 1116 },
		{ "prev-images-dir", required_argument, NULL, 1002 },
		{ "track-mem", no_argument, NULL, 1003 },
		{ "live-snapshot", no_argument, NULL, 1200 },
		{ "iterative", no_argument, NULL, 1201 },
		{ "downtime-limit", required_argument, NULL, 1202 },
		{ "max-rounds", required_argument, NULL, 1203 },
		{ "tcp-established", no_argument, NULL, 1300 },
		{ "tcp-close", no_argument, NULL, 1301 },
		{ "network-lock", required_argument, NULL, 1302 },
		{ "file-validation", required_argument, NULL, 1303 },
		{ "freeze-cgroup", required_argument, NULL, 1320 },
		{ "manage-cgroups", optional_argument, NULL, 1321 },
		{ "cgroup-root", required_argument, NULL, 1322 },
		{ "log-file", required_argument, NULL, 'o' },
		{ "verbosity", optional_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ "work-dir", required_argument, NULL, 'W' },
		{ "action-script", required_argument, NULL, 1310 },
		{ "status-fd", required_argument, NULL, 1311 },
		/* internal: the lazy-pages socket a restore made for the daemon it starts */
		{ "lazy-listen-fd", required_argument, NULL, 1309 },
		{ "config", required_argument, NULL, 1312 },
		{ "file-locks", no_argument, NULL, 1313 },
		{ "evasive-devices", no_argument, NULL, 1314 },
		{ "root", required_argument, NULL, 1330 },
		{ "external", required_argument, NULL, 1331 },
		{ "ext-mount-map", required_argument, NULL, 1332 },
		{ "empty-ns", required_argument, NULL, 1333 },
		{ "join-ns", required_argument, NULL, 1334 },
		{ },
	};
	int c;

	optind = 0;	/* from the start, also when called again (swrk) */
	while ((c = getopt_long(argc, argv, "t:D:Rjdo:v::VhW:", lopts, NULL)) != -1) {
		switch (c) {
		case 't': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v <= 0 || v > 0x3fffffff) {
				fprintf(stderr, "error: -t %s: not a process id\n", optarg);
				return -1;
			}
			o->pid = v;
			break;
		}
		case 'D': o->images_dir = optarg; break;
		case 'R': o->leave_running = true; break;
		case 'j': o->shell_job = true; break;
		case 1315: o->orphan_pts_master = true; break;
		case 'd': o->detach = true; break;
		case 'o': o->log_file = optarg; break;
		case 1000: o->pidfile = optarg; break;
		case 1004: o->ext_unix_sk = true; break;
		case 1005: {
			int fd;
			const char *key, **n;
			if (fd_inherit_parse(optarg, &fd, &key)) {
				fprintf(stderr, "error: --inherit-fd %s: expected fd[N]:KEY, e.g. fd[3]:pipe:[12345]\n",
					optarg);
				return -1;
			}
			/* now, before criu opens its own files (the log) */
			if (fcntl(fd, F_GETFD) < 0) {
				fprintf(stderr, "error: --inherit-fd %s: criu has no fd %d\n", optarg, fd);
				return -1;
			}
			n = realloc(o->inherit_fd, (o->nr_inherit_fd + 1) * sizeof(*n));
			if (!n)
				return -1;
			o->inherit_fd = n;
			o->inherit_fd[o->nr_inherit_fd++] = optarg;
			break;
		}
		case 1001: o->feature = optarg; break;
		case 1100: o->lazy_pages = true; break;
		case 1101: o->page_server = true; break;
		case 1102: o->address = optarg; break;
		case 1103: {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v <= 0 || v > 65535) {
				fprintf(stderr, "error: --port %s: not a port number\n", optarg);
				return -1;
			}
			o->port = v;
			break;
		}
		case 1104: {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end == 'K' || *end == 'k')
				v <<= 10, end++;
			else if (*end == 'M' || *end == 'm')
				v <<= 20, end++;
			if (*end || v < LAZY_GRANULE_MIN || v > LAZY_GRANULE_MAX || (v & (v - 1))) {
				fprintf(stderr, "error: --lazy-granule %s: must be a power of two "
					"from 64K to 2M\n", optarg);
				return -1;
			}
			o->lazy_granule = v;
			break;
		}
		case 1110: o->ps_sec.tls = true; break;
		case 1111: o->ps_sec.tls_cacert = optarg; break;
		case 1112: o->ps_sec.tls_cacrl = optarg; break;
		case 1113: o->ps_sec.tls_cert = optarg; break;
		case 1114: o->ps_sec.tls_key = optarg; break;
		case 1115: o->ps_sec.tls_no_cn_verify = true; break;
		case 1116: o->ps_sec.token_file = optarg; break;
		case 1002: o->prev_images_dir = optarg; break;
		case 1003: o->track_mem = true; break;
		case 1200: o->live_snapshot = true; break;
		case 1300: o->tcp_established = true; break;
		case 1301: o->tcp_close = true; break;
		case 1302:
			if (strcmp(optarg, "nftables") && strcmp(optarg, "iptables") && strcmp(optarg, "skip")) {
				fprintf(stderr, "error: --network-lock %s: expected nftables, iptables or skip\n", optarg);
				return -1;
			}
			o->network_lock = optarg;
			break;
		case 1303:
			if (strcmp(optarg, "filesize") && strcmp(optarg, "buildid")) {
				fprintf(stderr, "error: --file-validation %s: expected filesize or buildid\n", optarg);
				return -1;
			}
			o->file_validation_size = !strcmp(optarg, "filesize");
			break;
		case 1320: o->freeze_cgroup = optarg; break;
		case 1321:
			o->manage_cgroups = optarg ? optarg : "soft";
			if (!cg_mode_known(o->manage_cgroups)) {
				fprintf(stderr, "error: --manage-cgroups %s: expected soft, ignore, none, props, full or strict\n",
					o->manage_cgroups);
				return -1;
			}
			break;
		case 1322: {
			const char **n = realloc(o->cgroup_root, (o->nr_cgroup_root + 1) * sizeof(*n));
			if (!n)
				return -1;
			o->cgroup_root = n;
			o->cgroup_root[o->nr_cgroup_root++] = optarg;
			break;
		}
		case 1201: o->iterative = true; break;
		case 1202:
			if (parse_count("--downtime-limit", optarg, 600000, &o->downtime_limit_ms))
				return -1;
			break;
		case 1203:
			if (parse_count("--max-rounds", optarg, 60, &o->max_rounds))
				return -1;
			break;
		case 'v':
			if (!optarg)
				o->verbosity = LOG_DEBUG;
			else if (optarg[0] == 'v')	/* -vv, -vvv */
				o->verbosity = LOG_WARN + strlen(optarg);
			else
				o->verbosity = atoi(optarg);
			break;
		case 'W': o->work_dir = optarg; break;
		case 1310: o->action_script = optarg; break;
		case 1311:
			if (parse_count("--status-fd", optarg, 0x7fffffff, &o->status_fd))
				return -1;
			break;
		case 1309:
			if (parse_count("--lazy-listen-fd", optarg, 0x7fffffff, &o->lazy_listen_fd))
				return -1;
			break;
		case 1312: break;	/* read before the command line (main) */
		case 1313: break;	/* file locks are always dumped (files/) */
		case 1314: break;	/* devices are reopened by path (files/dev.c) */
		case 1330: o->mnt.root = optarg; break;
		case 1331: {
			/* each kind's own parser: 1 if the argument is not of its kind */
			int r = mnt_opts_external(&o->mnt, optarg);
			if (r > 0)
				r = net_opts_external(&o->net, optarg);
			if (r > 0)
				fprintf(stderr, "error: --external %s: unknown kind (mnt[...], veth[...], macvlan[...] and "
					"net[...] are supported)\n", optarg);
			if (r)
				return -1;
			break;
		}
		case 1332:
			if (mnt_opts_ext_map(&o->mnt, optarg))
				return -1;
			break;
		case 1333:
			if (empty_ns_parse(&o->mnt.empty_ns, optarg))
				return -1;
			break;
		case 1334: {
			const char **n;
			if (join_ns_check_arg(optarg))
				return -1;
			n = realloc(o->join_ns, (o->nr_join_ns + 1) * sizeof(*n));
			if (!n)
				return -1;
			o->join_ns = n;
			o->join_ns[o->nr_join_ns++] = optarg;
			break;
		}
		case 'V': print_version(); return 1;
		case 'h': usage(stdout); return 1;
		default: usage(stderr); return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = OPTS_INIT;
	const char *config = opts_find_config(argc, argv);
	int r = config ? opts_read_config(config, &o, false) : 0;

	if (!r)
		r = opts_parse(argc, argv, &o);

	if (r)
		return r < 0 ? 1 : 0;
	if (optind >= argc) {
		usage(stderr);
		return 1;
	}
	o.action = argv[optind++];
	o.nr_args = argc - optind;
	o.args = argv + optind;
	char logbuf[4096], pidbuf[4096];
	o.pidfile = opts_work_path(&o, o.pidfile, pidbuf, sizeof(pidbuf));
	if (log_init(opts_work_path(&o, o.log_file, logbuf, sizeof(logbuf)), o.verbosity))
		return 1;

	if (!strcmp(o.action, "dump"))
		return cr_dump(&o) ? 1 : 0;
	if (!strcmp(o.action, "pre-dump"))
		return cr_pre_dump(&o) ? 1 : 0;
	if (!strcmp(o.action, "restore")) {
		if ((o.page_server || o.address) && (!o.lazy_pages || !o.port)) {
			fprintf(stderr, "error: restore --page-server needs --lazy-pages and --port PORT\n");
			return 1;
		}
		return cr_restore(&o);
	}
	if (!strcmp(o.action, "check"))
		return cr_check(&o);
	if (!strcmp(o.action, "show"))
		return cr_show(&o);
	if (!strcmp(o.action, "swrk"))
		return cr_swrk(&o);
	if (!strcmp(o.action, "lazy-pages") || !strcmp(o.action, "page-server")) {
		struct lazy_opts lo = { .images_dir = o.images_dir, .granule = o.lazy_granule,
					.remote = o.page_server, .address = o.address,
					.port = o.port, .sec = o.ps_sec, .status_fd = o.status_fd,
					.listen_fd = o.lazy_listen_fd };
		struct ps_serve_opts so = { .images_dir = o.images_dir, .address = o.address,
					    .port = o.port, .sec = o.ps_sec, .status_fd = o.status_fd };
		if (o.action[0] == 'l' && o.page_server && (!o.address || !o.port)) {
			fprintf(stderr, "error: lazy-pages --page-server needs --address and --port\n");
			return 1;
		}
		return o.action[0] == 'l' ? lazy_pages_main(&lo) : page_server_main(&so);
	}
	fprintf(stderr, "error: unknown action '%s'\n", o.action);
	usage(stderr);
	return 1;
}
