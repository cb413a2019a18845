/*
 * config.c - `--config FILE`: options read from a file in CRIU's format,
 * one option a line by its long name without the dashes, then its value
 * if it takes one ("tcp-established", "images-dir /var/ckpt"); '#' starts
 * a comment.  The file's options come before the command line's, which
 * override them.  Each line goes through opts_parse (main.c), so an option
 * means the same in a file, on the command line and in an RPC request.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "criu/opts.h"

/* the FILE of --config FILE or --config=FILE in argv, or NULL */
const char *opts_find_config(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			return argv[i + 1];
		if (!strncmp(argv[i], "--config=", 9))
			return argv[i] + 9;
	}
	return NULL;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = 0;
	/* a value may be quoted */
	if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
		s[n - 1] = 0;
		s++;
	}
	return s;
}

/* one line into argv; 0 for an empty line */
static int split_line(char *line, char **argv)
{
	char *hash = strchr(line, '#'), *name, *val;

	if (hash)
		*hash = 0;
	name = trim(line);
	if (!*name)
		return 0;
	val = name + strcspn(name, " \t=");
	if (*val)
		*val++ = 0;
	val = trim(val);
	if (*val == '=')
		val = trim(val + 1);
	/* one argument, --name=value: right for optional arguments (verbosity) too */
	if ((*val ? asprintf(&argv[0], "--%s=%s", name, val) : asprintf(&argv[0], "--%s", name)) < 0)
		return -1;
	return 1;
}

/*
 * Reads FILE's options into *o.  A missing file is an error unless
 * missing_ok (an RPC client names the file its runtime would use, which
 * need not exist).  The strings stay allocated: *o points into them.
 */
int opts_read_config(const char *path, struct opts *o, bool missing_ok)
{
	FILE *f = fopen(path, "re");
	char line[4096], **argv = NULL;
	int argc = 1, lineno = 0, ret;

	if (!f) {
		if (missing_ok && errno == ENOENT)
			return 0;
		fprintf(stderr, "error: --config %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char **n = realloc(argv, (argc + 2) * sizeof(*argv));
		if (!n)
			break;
		argv = n;
		lineno++;
		int k = split_line(line, argv + argc);
		if (k < 0)
			break;
		argc += k;
	}
	fclose(f);
	if (!argv)
		return 0;
	argv[0] = "criu";
	argv[argc] = NULL;
	ret = opts_parse(argc, argv, o);
	if (!ret && optind < argc) {
		fprintf(stderr, "error: --config %s: '%s' is not an option\n", path, argv[optind]);
		ret = -1;
	} else if (ret) {
		fprintf(stderr, "error: --config %s: a line above is not a valid option (%d lines)\n",
			path, lineno);
		ret = -1;
	}
	return ret;
}
