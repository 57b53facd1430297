/*
 * OpenSSL for the fast path's TLS listeners (see tls.h). Every call that can fail clears the
 * thread's error queue after reading it: Node's own crypto runs on this thread and expects an
 * empty queue.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

static void take_error(char *error, size_t len, const char *what) {
  unsigned long code = ERR_get_error();
  if (code != 0) {
    char reason[200];
    ERR_error_string_n(code, reason, sizeof(reason));
    snprintf(error, len, "%s: %s", what, reason);
  } else {
    snprintf(error, len, "%s", what);
  }
  ERR_clear_error();
}

/* One certificate chain (leaf, then intermediates) and its key, as the context's next pair. */
static int use_pair(SSL_CTX *ctx, const char *chain, const char *key, char *error, size_t len) {
  BIO *bio = BIO_new_mem_buf(chain, -1);
  X509 *leaf = bio != NULL ? PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL) : NULL;
  if (leaf == NULL || SSL_CTX_use_certificate(ctx, leaf) != 1) {
    X509_free(leaf);
    BIO_free(bio);
    take_error(error, len, "certificate");
    return -1;
  }
  X509_free(leaf);
  /* The chain belongs to the certificate just set (one per key type). */
  X509 *extra;
  while ((extra = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
    if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
      X509_free(extra);
      BIO_free(bio);
      take_error(error, len, "certificate chain");
      return -1;
    }
  }
  BIO_free(bio);
  ERR_clear_error(); /* the end of the PEM bundle reads as an error */
  bio = BIO_new_mem_buf(key, -1);
  EVP_PKEY *pkey = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
  BIO_free(bio);
  if (pkey == NULL || SSL_CTX_use_PrivateKey(ctx, pkey) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    EVP_PKEY_free(pkey);
    take_error(error, len, "private key");
    return -1;
  }
  EVP_PKEY_free(pkey);
  return 0;
}

/* mTLS: the trusted bundle becomes the verify store and the CA names sent to the client. */
static int use_client_ca(SSL_CTX *ctx, const char *bundle, int depth, char *error, size_t len) {
  BIO *bio = BIO_new_mem_buf(bundle, -1);
  X509_STORE *store = SSL_CTX_get_cert_store(ctx);
  int count = 0;
  X509 *ca;
  while (bio != NULL && (ca = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
    X509_STORE_add_cert(store, ca);
    SSL_CTX_add_client_CA(ctx, ca);
    X509_free(ca);
    count++;
  }
  BIO_free(bio);
  ERR_clear_error();
  if (count == 0) {
    snprintf(error, len, "client CA: no certificate in the bundle");
    return -1;
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
  SSL_CTX_set_verify_depth(ctx, depth);
  return 0;
}

SSL_CTX *fp_tls_ctx_new(const fp_tls_ctx_options *o, char *error, size_t len) {
  ERR_clear_error();
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == NULL) {
    take_error(error, len, "SSL_CTX_new");
    return NULL;
  }
  /*
   * Server cipher order (APISIX's ssl_prefer_server_ciphers), no renegotiation (a client could
   * make the server redo handshakes at will; TLS 1.3 has none), a TCP FIN without close_notify
   * read as the end of the stream as nginx does, and record buffers released while a connection
   * is idle (nginx's choice too: 34 KB less per idle connection).
   */
  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_IGNORE_UNEXPECTED_EOF | o->options);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  /*
   * Read what the socket holds, not a record header and then its body (as nginx does): half the
   * read calls per handshake. Safe with edge-triggered polling because SSL_read and the
   * handshake only say WANT_READ after the socket itself said EAGAIN; bytes read ahead wait in
   * OpenSSL and are returned by the next SSL_read.
   */
  SSL_CTX_set_read_ahead(ctx, 1);
  if ((o->min_version && SSL_CTX_set_min_proto_version(ctx, o->min_version) != 1) ||
      (o->max_version && SSL_CTX_set_max_proto_version(ctx, o->max_version) != 1)) {
    take_error(error, len, "protocol versions");
    goto fail;
  }
  if (o->cipher_list && o->cipher_list[0] && SSL_CTX_set_cipher_list(ctx, o->cipher_list) != 1) {
    take_error(error, len, "ciphers");
    goto fail;
  }
  if (o->cipher_suites && o->cipher_suites[0] &&
      SSL_CTX_set_ciphersuites(ctx, o->cipher_suites) != 1) {
    take_error(error, len, "TLS 1.3 cipher suites");
    goto fail;
  }
  for (uint32_t i = 0; i < o->npairs; i++) {
    if (use_pair(ctx, o->certs[i], o->keys[i], error, len) < 0) goto fail;
  }
  if (o->client_ca != NULL && use_client_ca(ctx, o->client_ca, o->verify_depth, error, len) < 0) {
    goto fail;
  }
  if (o->ticket_keys != NULL &&
      SSL_CTX_set_tlsext_ticket_keys(ctx, (void *)o->ticket_keys, FP_TLS_TICKET_KEYS) != 1) {
    take_error(error, len, "session ticket keys");
    goto fail;
  }
  /* Resumption is only within the same object (and a verifying context needs one at all). */
  if (o->session_id_context_len > 0 &&
      SSL_CTX_set_session_id_context(ctx, o->session_id_context, o->session_id_context_len) != 1) {
    take_error(error, len, "session id context");
    goto fail;
  }
  return ctx;
fail:
  SSL_CTX_free(ctx);
  return NULL;
}

void fp_tls_ctx_free(SSL_CTX *ctx) { SSL_CTX_free(ctx); }

/* Beyond FP_TLS_HELLO_MAX the bytes are delivered anyway (and refused). */
static uint32_t at_most_hello_max(uint32_t bytes) {
  return bytes < FP_TLS_HELLO_MAX ? bytes : FP_TLS_HELLO_MAX;
}

uint32_t fp_tls_hello_needed(const uint8_t *b, uint32_t n) {
  if (n >= FP_TLS_HELLO_MAX) return 0;
  if (n >= 1 && b[0] != 22) return 0; /* not a handshake record */
  uint32_t off = 0, seen = 0, need = UINT32_MAX;
  uint8_t header[4];
  while (off + 5 <= n) {
    if (b[off] != 22) return 0; /* another record type before the hello ended */
    uint32_t length = ((uint32_t)b[off + 3] << 8) | b[off + 4];
    uint32_t available = n - off - 5 < length ? n - off - 5 : length;
    for (uint32_t i = 0; i < available && seen + i < 4; i++) header[seen + i] = b[off + 5 + i];
    seen += available;
    if (seen >= 4 && need == UINT32_MAX) {
      need = 4 + (((uint32_t)header[1] << 16) | ((uint32_t)header[2] << 8) | header[3]);
    }
    if (seen >= need) return 0;
    if (available < length) return at_most_hello_max(off + 5 + length); /* this record's end */
    off += 5 + length;
  }
  return at_most_hello_max(off + 5); /* the next record's header, at least */
}

SSL *fp_tls_session_new(SSL_CTX *ctx, int fd) {
  SSL *ssl = SSL_new(ctx);
  if (ssl == NULL) {
    ERR_clear_error();
    return NULL;
  }
  if (SSL_set_fd(ssl, fd) != 1) {
    SSL_free(ssl);
    ERR_clear_error();
    return NULL;
  }
  SSL_set_accept_state(ssl);
  return ssl;
}

void fp_tls_session_free(SSL *ssl) { SSL_free(ssl); }

int fp_tls_handshake(SSL *ssl, fp_tls_failure *failure) {
  ERR_clear_error();
  errno = 0;
  int result = SSL_do_handshake(ssl);
  if (result == 1) return 1;
  int kind = SSL_get_error(ssl, result);
  if (kind == SSL_ERROR_WANT_READ) return 0;
  if (kind == SSL_ERROR_WANT_WRITE) return 2;
  memset(failure, 0, sizeof(*failure));
  failure->verify_result = SSL_get_verify_result(ssl);
  if (kind == SSL_ERROR_SYSCALL) {
    failure->sys_errno = errno;
  } else {
    unsigned long code = ERR_peek_error();
    failure->reason = ERR_GET_REASON(code);
    const char *reason = ERR_reason_error_string(code);
    snprintf(failure->text, sizeof(failure->text), "%s", reason != NULL ? reason : "TLS error");
  }
  ERR_clear_error();
  return -1;
}

/* An SSL_read/SSL_write result that moved nothing, as recv/send would report it. */
static ssize_t io_failed(SSL *ssl, int result) {
  int saved = errno;
  int kind = SSL_get_error(ssl, result);
  ERR_clear_error();
  switch (kind) {
  case SSL_ERROR_WANT_READ:
  case SSL_ERROR_WANT_WRITE:
    errno = EAGAIN;
    return -1;
  case SSL_ERROR_ZERO_RETURN:
    return 0;
  case SSL_ERROR_SYSCALL:
    /* A socket error; none at all is a FIN (IGNORE_UNEXPECTED_EOF makes that ZERO_RETURN). */
    if (saved == 0) return 0;
    errno = saved;
    return -1;
  default:
    errno = EIO;
    return -1;
  }
}

ssize_t fp_tls_read(SSL *ssl, void *buf, size_t len) {
  errno = 0;
  int result = SSL_read(ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
  return result > 0 ? result : io_failed(ssl, result);
}

ssize_t fp_tls_write(SSL *ssl, const void *buf, size_t len) {
  errno = 0;
  int result = SSL_write(ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
  if (result > 0) return result;
  ssize_t failed = io_failed(ssl, result);
  if (failed == 0) {
    errno = EPIPE; /* nothing written and the stream is closed */
    return -1;
  }
  return failed;
}

void fp_tls_close_notify(SSL *ssl) {
  (void)SSL_shutdown(ssl);
  ERR_clear_error();
}

int fp_tls_version(const SSL *ssl) { return SSL_version(ssl); }

int fp_tls_resumed(const SSL *ssl) { return SSL_session_reused(ssl); }
