/*
 * TLS on the client side of a fast-path connection (tls.c): certificate contexts built from PEM,
 * the ClientHello completeness check, and non-blocking OpenSSL calls reduced to socket-like
 * results. It uses the OpenSSL that Node itself is built with and exports, so a TLS listener's
 * handshakes and records never enter JavaScript. Nothing here knows about loops or events:
 * core.c decides what a result means for the connection.
 */
#ifndef STRAIT_FASTPATH_TLS_H
#define STRAIT_FASTPATH_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ssl_st;
struct ssl_ctx_st;

/* Everything a context needs; strings are NUL-terminated PEM or OpenSSL lists. */
typedef struct {
  const char **certs; /* one chain per pair: leaf first, then intermediates */
  const char **keys;
  uint32_t npairs;
  const char *client_ca; /* NULL: no client certificate is asked for */
  int verify_depth;
  int min_version, max_version; /* TLS1_2_VERSION...; 0: OpenSSL's bound */
  uint64_t options;             /* SSL_OP_NO_* from the object's protocol list */
  const char *cipher_list;      /* TLS 1.2 and below; NULL or "": OpenSSL's default */
  const char *cipher_suites;    /* TLS 1.3; NULL or "": OpenSSL's default */
  const unsigned char *session_id_context;
  uint32_t session_id_context_len;
  const unsigned char *ticket_keys; /* FP_TLS_TICKET_KEYS bytes, or NULL: OpenSSL's own */
} fp_tls_ctx_options;

/* Session-ticket key material: 16 bytes of name, 32 of HMAC key, 32 of AES key. */
#define FP_TLS_TICKET_KEYS 80

/* A new context, or NULL with OpenSSL's reason in `error`. */
struct ssl_ctx_st *fp_tls_ctx_new(const fp_tls_ctx_options *options, char *error, size_t len);
void fp_tls_ctx_free(struct ssl_ctx_st *ctx);

/* Bytes a pending ClientHello may take before JavaScript is asked anyway (and refuses it). */
#define FP_TLS_HELLO_MAX (64u * 1024u)
/*
 * 0 when `bytes` hold the whole first handshake message (or cannot be a TLS handshake at all, or
 * reached FP_TLS_HELLO_MAX: JavaScript then says why it refuses); else how many bytes there
 * must be at least before it can be whole (more than `n`), so a hello arriving in small pieces
 * is not copied again for every piece.
 */
uint32_t fp_tls_hello_needed(const uint8_t *bytes, uint32_t n);

/* A server session on the socket `fd`, or NULL. */
struct ssl_st *fp_tls_session_new(struct ssl_ctx_st *ctx, int fd);
void fp_tls_session_free(struct ssl_st *ssl);

/* Why a handshake failed: OpenSSL's reason code and text, and the peer verify result. */
typedef struct {
  int reason;
  long verify_result;
  int sys_errno; /* the socket failed (ECONNRESET...), or 0 with reason 0: the peer left */
  char text[160];
} fp_tls_failure;

/* One handshake step: 1 done, 0 waiting for bytes, 2 waiting for room to write, -1 failed
 * (`failure` filled in). */
int fp_tls_handshake(struct ssl_st *ssl, fp_tls_failure *failure);
/* recv/send semantics: > 0 bytes, 0 end of stream (read), -1 with errno (EAGAIN, ECONNRESET,
 * EPIPE, EIO for a TLS error). */
ssize_t fp_tls_read(struct ssl_st *ssl, void *buf, size_t len);
ssize_t fp_tls_write(struct ssl_st *ssl, const void *buf, size_t len);
/* Sends close_notify (the TLS end of stream) if the socket takes it. */
void fp_tls_close_notify(struct ssl_st *ssl);
/* The negotiated protocol (0x0304 for TLS 1.3) and whether the session was resumed. */
int fp_tls_version(const struct ssl_st *ssl);
int fp_tls_resumed(const struct ssl_st *ssl);

#endif
