/*
 * ps-sec.h - how the ends of a page-server connection authenticate each
 * other (Documentation/lazy-pages.md, "Security"): the options, shared by
 * every command that serves or fetches pages over TCP (criu/main.c fills
 * them in), and the state built from them once per command (ps-auth.c).
 *
 * With --tls: TLS (GnuTLS) with certificates on both sides (upstream
 * CRIU's options and default paths).  Without: a 256-bit token that the
 * client presents in its hello, kept in a file of mode 0600 (the images
 * directory's "ps-token" unless --ps-token-file names another).
 */
#ifndef PAGEXFER_PS_SEC_H
#define PAGEXFER_PS_SEC_H

#include <stdbool.h>
#include <stdint.h>

#define PS_TOKEN_LEN		32
#define PS_TOKEN_NAME		"ps-token"	/* in the images directory */

#define PS_TLS_CACERT_DEFAULT	"/etc/pki/CA/cacert.pem"
#define PS_TLS_CACRL_DEFAULT	"/etc/pki/CA/cacrl.pem"
#define PS_TLS_CERT_DEFAULT	"/etc/pki/criu/cert.pem"
#define PS_TLS_KEY_DEFAULT	"/etc/pki/criu/private/key.pem"

/* the command line */
struct ps_sec {
	bool tls;			/* --tls */
	const char *tls_cacert;		/* --tls-cacert (NULL: the default) */
	const char *tls_cacrl;		/* --tls-cacrl */
	const char *tls_cert;		/* --tls-cert */
	const char *tls_key;		/* --tls-key */
	bool tls_no_cn_verify;		/* --tls-no-cn-verify */
	const char *token_file;		/* --ps-token-file (NULL: DIR/ps-token) */
};

struct ps_tls;

/* what one command authenticates with */
struct ps_auth {
	struct ps_tls *tls;		/* --tls: the credentials; NULL: the token */
	uint8_t token[PS_TOKEN_LEN];
	bool no_cn_verify;
	/*
	 * The dump this end serves or restores (the images directory's
	 * inventory; 0: none there): a server refuses a client of another
	 */
	uint64_t dump_id;
};

/*
 * A server's (server = true) or client's authentication from s; images_dir
 * for the token's default place and the dump id.  A server creates the token file (0600,
 * random) if it does not exist; a client needs it.  0, or -1 (logged: one
 * line naming the file and the problem).
 */
int ps_auth_init(const struct ps_sec *s, const char *images_dir, bool server, struct ps_auth *a);
void ps_auth_fini(struct ps_auth *a);
/* constant time: is t the token? */
bool ps_auth_token_ok(const struct ps_auth *a, const uint8_t *t);

#endif /* PAGEXFER_PS_SEC_H */
