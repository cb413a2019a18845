/*
 * ps-tls.c - TLS for page-server connections (see ps-tls.h).  Credentials
 * are upstream CRIU's: --tls-cert/--tls-key (default
 * /etc/pki/criu/cert.pem, /etc/pki/criu/private/key.pem), --tls-cacert
 * (default /etc/pki/CA/cacert.pem), --tls-cacrl (default
 * /etc/pki/CA/cacrl.pem, used if readable; an explicit one must be).  A
 * client without --tls-cacert also trusts the system's CAs, as upstream
 * does; a server never does: only a certificate signed by its own CA file
 * may fetch pages (a public CA signs anyone's).
 */
#define LOG_PREFIX "tls: "
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "common/clock.h"
#include "common/log.h"
#include "pagexfer/ps-tls.h"

struct ps_tls {
	gnutls_certificate_credentials_t cred;
};

static int load_cas(gnutls_certificate_credentials_t cred, const struct ps_sec *s, bool server)
{
	const char *ca = s->tls_cacert ? s->tls_cacert : PS_TLS_CACERT_DEFAULT;
	const char *crl = s->tls_cacrl ? s->tls_cacrl : PS_TLS_CACRL_DEFAULT;
	int n = 0, r;

	if (!server && !s->tls_cacert) {
		r = gnutls_certificate_set_x509_system_trust(cred);
		n += r > 0 ? r : 0;
	}
	r = gnutls_certificate_set_x509_trust_file(cred, ca, GNUTLS_X509_FMT_PEM);
	if (r < 0 && (s->tls_cacert || server)) {
		pr_err("%s: cannot load the CA certificate (--tls-cacert): %s", ca, gnutls_strerror(r));
		return -1;
	}
	n += r > 0 ? r : 0;
	if (!n) {
		pr_err("%s: no trusted CA certificate (--tls-cacert)", ca);
		return -1;
	}
	if (access(crl, R_OK)) {
		if (!s->tls_cacrl)
			return 0;
		pr_perror("%s: cannot read the certificate revocation list (--tls-cacrl)", crl);
		return -1;
	}
	r = gnutls_certificate_set_x509_crl_file(cred, crl, GNUTLS_X509_FMT_PEM);
	if (r < 0) {
		pr_err("%s: not a certificate revocation list (--tls-cacrl): %s", crl, gnutls_strerror(r));
		return -1;
	}
	return 0;
}

struct ps_tls *ps_tls_creds(const struct ps_sec *s, bool server)
{
	const char *cert = s->tls_cert ? s->tls_cert : PS_TLS_CERT_DEFAULT;
	const char *key = s->tls_key ? s->tls_key : PS_TLS_KEY_DEFAULT;
	struct ps_tls *t = calloc(1, sizeof(*t));
	int r;

	if (!t || gnutls_certificate_allocate_credentials(&t->cred) < 0) {
		free(t);
		pr_err("cannot allocate TLS credentials");
		return NULL;
	}
	if (load_cas(t->cred, s, server))
		goto fail;
	r = gnutls_certificate_set_x509_key_file(t->cred, cert, key, GNUTLS_X509_FMT_PEM);
	if (r < 0) {
		pr_err("%s, %s: cannot load the certificate and its key (--tls-cert, --tls-key): %s",
		       cert, key, gnutls_strerror(r));
		goto fail;
	}
	return t;
fail:
	ps_tls_free(t);
	return NULL;
}

void ps_tls_free(struct ps_tls *t)
{
	if (!t)
		return;
	gnutls_certificate_free_credentials(t->cred);
	free(t);
}

/* the socket I/O of a session: never SIGPIPE, never blocking */
static ssize_t push(gnutls_transport_ptr_t p, const void *buf, size_t len)
{
	return send((int)(long)p, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static ssize_t pull(gnutls_transport_ptr_t p, void *buf, size_t len)
{
	ssize_t n = recv((int)(long)p, buf, len, MSG_DONTWAIT);
	return n < 0 && errno == ECONNRESET ? 0 : n;
}

int ps_tls_start(struct ps_tls *t, struct ps_io *io, bool server, const char *peer)
{
	gnutls_session_t s;
	int r = gnutls_init(&s, (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NONBLOCK);

	if (r < 0) {
		pr_err("cannot start a TLS session: %s", gnutls_strerror(r));
		return -1;
	}
	if ((r = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, t->cred)) < 0 ||
	    (r = gnutls_set_default_priority(s)) < 0) {
		pr_err("cannot set up a TLS session: %s", gnutls_strerror(r));
		gnutls_deinit(s);
		return -1;
	}
	if (server)
		gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
	/* the handshake fails unless the peer's certificate verifies (and names peer) */
	gnutls_session_set_verify_cert(s, peer, 0);
	gnutls_transport_set_ptr(s, (gnutls_transport_ptr_t)(long)io->fd);
	gnutls_transport_set_push_function(s, push);
	gnutls_transport_set_pull_function(s, pull);
	io->tls = s;
	return 0;
}

int ps_tls_step(struct ps_io *io, const char *who)
{
	int r = gnutls_handshake(io->tls);

	if (r == GNUTLS_E_SUCCESS) {
		char *d = gnutls_session_get_desc(io->tls);
		pr_info("%s: TLS session %s", who, d ? d : "");
		gnutls_free(d);
		return 1;
	}
	if (!gnutls_error_is_fatal(r))
		return 0;
	if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
		gnutls_datum_t out = { 0 };
		unsigned st = gnutls_session_get_verify_cert_status(io->tls);
		gnutls_certificate_verification_status_print(st, GNUTLS_CRT_X509, &out, 0);
		pr_err("%s: TLS: the peer's certificate is refused: %s", who,
		       out.data ? (char *)out.data : "not trusted");
		gnutls_free(out.data);
	} else {
		pr_err("%s: TLS handshake failed: %s", who, gnutls_strerror(r));
	}
	return -1;
}

short ps_tls_events(struct ps_io *io)
{
	return gnutls_record_get_direction(io->tls) ? POLLOUT : POLLIN;
}

int ps_tls_handshake(struct ps_io *io, const char *who, int timeout_ms)
{
	for (;;) {
		int r = ps_tls_step(io, who);
		if (r)
			return r > 0 ? 0 : -1;
		r = ps_io_wait(io->fd, ps_tls_events(io), timeout_ms);
		if (r <= 0) {
			pr_err("%s: TLS handshake: no answer in %d s", who, timeout_ms / 1000);
			return -1;
		}
	}
}

void ps_tls_end(struct ps_io *io)
{
	/* a close_notify if it goes out at once; the peer is not waited for */
	gnutls_bye(io->tls, GNUTLS_SHUT_WR);
	gnutls_deinit(io->tls);
	io->tls = NULL;
}
