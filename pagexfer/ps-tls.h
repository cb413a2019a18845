/*
 * ps-tls.h - TLS for page-server connections (GnuTLS): the credentials of
 * one command (certificate, key, trusted CAs, CRL) and the session of one
 * connection, with a handshake that never blocks (the server advances it
 * from its poll loop; a client waits with a deadline).  Both sides
 * present a certificate and verify the other's: a server requires a
 * client certificate signed by its --tls-cacert; a client checks the
 * server's against its CAs and, unless --tls-no-cn-verify, against the
 * address it connected to.
 */
#ifndef PAGEXFER_PS_TLS_H
#define PAGEXFER_PS_TLS_H

#include <stdbool.h>

#include "pagexfer/ps-io.h"
#include "pagexfer/ps-sec.h"

/* the credentials from s; NULL (logged) */
struct ps_tls *ps_tls_creds(const struct ps_sec *s, bool server);
void ps_tls_free(struct ps_tls *t);
/* a session on io->fd (io->tls set); peer: the name to verify (client), or NULL */
int ps_tls_start(struct ps_tls *t, struct ps_io *io, bool server, const char *peer);
/* one step: 1 done (and the peer verified), 0 call again when ps_tls_events, -1 failed (logged) */
int ps_tls_step(struct ps_io *io, const char *who);
short ps_tls_events(struct ps_io *io);
/* the whole handshake within timeout_ms (a client); 0 or -1 (logged) */
int ps_tls_handshake(struct ps_io *io, const char *who, int timeout_ms);
void ps_tls_end(struct ps_io *io);

#endif /* PAGEXFER_PS_TLS_H */
