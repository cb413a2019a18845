/*
 * workload.c - the process the benchmark checkpoints and restores.
 *
 *   workload MIB [RESULT_FILE]
 *
 * Fills MIB MiB of anonymous memory with a position-dependent pattern,
 * prints READY, then sleeps in sigwaitinfo() until SIGUSR1 (blocked, so it
 * is only taken there).  It then checks every word of the pattern and
 * exits 0 if all are intact, 1 if not.  Because a restored process is not
 * the harness's child, the verdict is also written to RESULT_FILE ("PASS"
 * or "FAIL ...") when one is given; the file is opened only at the end so
 * that the dumped process holds no descriptor on it.  Descriptors above 2
 * inherited from the caller are closed first, for the same reason.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static uint64_t pattern(size_t i)
{
	return (i + 1) * 0x9e3779b97f4a7c15ULL ^ 0x5a5aa5a5c3c33c3cULL;
}

static void verdict(const char *path, const char *text)
{
	int fd;

	printf("%s\n", text);
	fflush(stdout);
	if (!path)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, text, strlen(text)) < 0 || write(fd, "\n", 1) < 0) {
		/* the exit status still tells */
	}
	close(fd);
}

int main(int argc, char **argv)
{
	unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 0;
	const char *result = argc > 2 ? argv[2] : NULL;
	size_t words, size;
	uint64_t *mem;
	sigset_t set;
	char text[128];

	if (!mib || argc > 3) {
		fprintf(stderr, "usage: workload MIB [RESULT_FILE]\n");
		return 2;
	}
	/* close_range(3, ~0U, 0), by number: glibc 2.36 has no wrapper in unistd.h */
	syscall(SYS_close_range, 3, ~0U, 0);
	size = mib << 20;
	words = size / sizeof(*mem);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL)) {
		perror("workload: sigprocmask");
		return 2;
	}
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("workload: mmap");
		return 2;
	}
	for (size_t i = 0; i < words; i++)
		mem[i] = pattern(i);
	printf("READY %d %lu MiB\n", getpid(), mib);
	fflush(stdout);

	for (;;) {
		int sig = sigwaitinfo(&set, NULL);
		if (sig == SIGUSR1)
			break;
		if (sig < 0 && errno != EINTR) {
			perror("workload: sigwaitinfo");
			return 2;
		}
	}
	for (size_t i = 0; i < words; i++) {
		if (mem[i] != pattern(i)) {
			snprintf(text, sizeof(text), "FAIL word at offset 0x%zx is 0x%016" PRIx64
				 ", expected 0x%016" PRIx64, i * sizeof(*mem), mem[i], pattern(i));
			verdict(result, text);
			return 1;
		}
	}
	snprintf(text, sizeof(text), "PASS %lu MiB intact", mib);
	verdict(result, text);
	return 0;
}
