/*
 * signals: signal dispositions and the blocked mask.
 *   SIGUSR2: a plain handler (sa_flags 0)
 *   SIGHUP:  an SA_SIGINFO handler with SA_RESTART and sa_mask {SIGQUIT, SIGALRM}
 *   SIGINT:  SIG_IGN
 *   blocked: SIGTERM, SIGRTMIN+1 (and SIGUSR1, blocked by the test library)
 * After restore sigaction() reports the same handler, flags and mask, the
 * blocked mask is the same, and raising SIGUSR2 and SIGHUP runs the handlers
 * (the SIGHUP one also checks its sa_mask is in effect while it runs).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "test/lib/test.h"

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif

static volatile sig_atomic_t usr2_hits, hup_hits, hup_mask_ok, hup_info_ok;

static void on_usr2(int sig)
{
	if (sig == SIGUSR2)
		usr2_hits++;
}

static void on_hup(int sig, siginfo_t *si, void *uc)
{
	sigset_t cur;
	(void)uc;
	hup_info_ok = sig == SIGHUP && si && si->si_signo == SIGHUP;
	sigprocmask(SIG_SETMASK, NULL, &cur);
	hup_mask_ok = sigismember(&cur, SIGQUIT) == 1 && sigismember(&cur, SIGALRM) == 1 &&
		      sigismember(&cur, SIGHUP) == 1;
	hup_hits++;
}

static const int sigs[] = { SIGUSR2, SIGHUP, SIGINT };
#define NSIGS 3

static void mask_str(const sigset_t *s, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = 0;
	for (int i = 1; i < NSIG && n + 8 < len; i++)
		if (sigismember(s, i) == 1)
			n += snprintf(buf + n, len - n, "%s%d", n ? "," : "", i);
}

static int same_set(const sigset_t *a, const sigset_t *b)
{
	for (int i = 1; i < NSIG; i++)
		if (sigismember(a, i) != sigismember(b, i))
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa, before[NSIGS];
	sigset_t block, mask_before;

	test_init(argc, argv);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR2, &sa, NULL))
		fail("sigaction(SIGUSR2): %s", strerror(errno));

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_hup;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGQUIT);
	sigaddset(&sa.sa_mask, SIGALRM);
	if (sigaction(SIGHUP, &sa, NULL))
		fail("sigaction(SIGHUP): %s", strerror(errno));

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGINT, &sa, NULL))
		fail("sigaction(SIGINT): %s", strerror(errno));

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGRTMIN + 1);
	if (sigprocmask(SIG_BLOCK, &block, NULL))
		fail("sigprocmask: %s", strerror(errno));

	for (int i = 0; i < NSIGS; i++)
		if (sigaction(sigs[i], NULL, &before[i]))
			fail("sigaction(%d) query: %s", sigs[i], strerror(errno));
	sigprocmask(SIG_BLOCK, NULL, &mask_before);

	test_ready();
	test_wait_checkpoint();

	for (int i = 0; i < NSIGS; i++) {
		struct sigaction now;
		char b1[512], b2[512];
		const char *name = strsignal(sigs[i]);
		if (sigaction(sigs[i], NULL, &now))
			fail("sigaction(%d) query: %s", sigs[i], strerror(errno));
		if ((void *)now.sa_handler != (void *)before[i].sa_handler)
			fail("%s (%d): handler is %p, was %p", name, sigs[i], (void *)now.sa_handler,
			     (void *)before[i].sa_handler);
		if (now.sa_flags != before[i].sa_flags)
			fail("%s (%d): sa_flags 0x%x, were 0x%x", name, sigs[i],
			     (unsigned)now.sa_flags, (unsigned)before[i].sa_flags);
		if (!same_set(&now.sa_mask, &before[i].sa_mask)) {
			mask_str(&now.sa_mask, b1, sizeof(b1));
			mask_str(&before[i].sa_mask, b2, sizeof(b2));
			fail("%s (%d): sa_mask {%s}, was {%s}", name, sigs[i], b1, b2);
		}
		if (now.sa_flags & SA_RESTORER && now.sa_restorer != before[i].sa_restorer)
			fail("%s (%d): sa_restorer %p, was %p", name, sigs[i],
			     (void *)now.sa_restorer, (void *)before[i].sa_restorer);
	}
	/* and what they were set to, in case both were wrong the same way */
	struct sigaction now;
	sigaction(SIGHUP, NULL, &now);
	if (now.sa_sigaction != on_hup || !(now.sa_flags & SA_SIGINFO) || !(now.sa_flags & SA_RESTART) ||
	    sigismember(&now.sa_mask, SIGQUIT) != 1 || sigismember(&now.sa_mask, SIGALRM) != 1)
		fail("SIGHUP: not the handler/flags/mask that were set");
	sigaction(SIGINT, NULL, &now);
	if (now.sa_handler != SIG_IGN)
		fail("SIGINT: not SIG_IGN");

	sigset_t mask_now;
	sigprocmask(SIG_BLOCK, NULL, &mask_now);
	if (!same_set(&mask_now, &mask_before)) {
		char b1[512], b2[512];
		mask_str(&mask_now, b1, sizeof(b1));
		mask_str(&mask_before, b2, sizeof(b2));
		fail("blocked mask {%s}, was {%s}", b1, b2);
	}
	if (sigismember(&mask_now, SIGTERM) != 1 || sigismember(&mask_now, SIGRTMIN + 1) != 1)
		fail("SIGTERM or SIGRTMIN+1 not blocked");

	sigset_t pend;
	sigpending(&pend);
	for (int i = 1; i < NSIG; i++)
		if (sigismember(&pend, i) == 1)
			fail("signal %d is pending, none should be", i);

	raise(SIGUSR2);
	if (usr2_hits != 1)
		fail("raise(SIGUSR2): handler ran %d times, expected once", (int)usr2_hits);
	raise(SIGHUP);
	if (hup_hits != 1)
		fail("raise(SIGHUP): handler ran %d times, expected once", (int)hup_hits);
	if (!hup_info_ok)
		fail("SIGHUP handler: wrong signal number or siginfo");
	if (!hup_mask_ok)
		fail("SIGHUP handler: SIGQUIT/SIGALRM/SIGHUP not blocked while it ran (sa_mask lost)");
	/* an ignored signal stays ignored */
	raise(SIGINT);
	pass();
}
