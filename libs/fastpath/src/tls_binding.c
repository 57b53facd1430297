/*
 * Node-API surface of tls.c's contexts: createTlsContext(options) builds an SSL_CTX from PEM and
 * hands it to JavaScript as a tagged external, freed when the last reference to it is collected
 * (a connection's SSL session holds its own reference, so open connections outlive a replaced
 * certificate).
 */
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls.h"
#include "tls_binding.h"

static const napi_type_tag TLS_CONTEXT_TAG = {0x5374726169745f54ULL, 0x4c53436f6e746578ULL};

static void finalize_context(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  fp_tls_ctx_free(data);
}

/* A copy of a JavaScript string (malloc), or NULL when `value` is not one. */
static char *string_value(napi_env env, napi_value value) {
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_string) return NULL;
  size_t length;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok) return NULL;
  char *text = malloc(length + 1);
  if (text == NULL) return NULL;
  napi_get_value_string_utf8(env, value, text, length + 1, &length);
  return text;
}

/* A copy of the string property `name` of `object`, or NULL when absent. */
static char *string_property(napi_env env, napi_value object, const char *name) {
  napi_value value;
  if (napi_get_named_property(env, object, name, &value) != napi_ok) return NULL;
  return string_value(env, value);
}

static double number_property(napi_env env, napi_value object, const char *name, double fallback) {
  napi_value value;
  double number;
  if (napi_get_named_property(env, object, name, &value) != napi_ok) return fallback;
  if (napi_get_value_double(env, value, &number) != napi_ok) return fallback;
  return number;
}

/* The strings of the array property `name`: their count, or -1 when it is not an array of them. */
static int string_array(napi_env env, napi_value object, const char *name, char ***out) {
  napi_value array;
  bool is_array = false;
  uint32_t count = 0;
  if (napi_get_named_property(env, object, name, &array) != napi_ok) return -1;
  if (napi_is_array(env, array, &is_array) != napi_ok || !is_array) return -1;
  napi_get_array_length(env, array, &count);
  char **items = calloc(count > 0 ? count : 1, sizeof(char *));
  if (items == NULL) return -1;
  for (uint32_t i = 0; i < count; i++) {
    napi_value item;
    napi_get_element(env, array, i, &item);
    items[i] = string_value(env, item);
    if (items[i] == NULL) {
      for (uint32_t j = 0; j < i; j++) free(items[j]);
      free(items);
      return -1;
    }
  }
  *out = items;
  return (int)count;
}

static void free_strings(char **items, int count) {
  for (int i = 0; i < count; i++) free(items[i]);
  free(items);
}

// createTlsContext({ certs, keys, clientCa?, verifyDepth?, minVersion?, maxVersion?, options?,
//   cipherList?, cipherSuites?, sessionIdContext?, ticketKeys? }) -> external; throws
//   Error(OpenSSL's reason).
napi_value strait_create_tls_context(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value options = NULL;
  if (napi_get_cb_info(env, info, &argc, &options, NULL, NULL) != napi_ok) return NULL;
  napi_valuetype type = napi_undefined;
  if (argc > 0) napi_typeof(env, options, &type);
  if (type != napi_object) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "createTlsContext(options)");
    return NULL;
  }
  char **certs = NULL, **keys = NULL;
  int ncerts = string_array(env, options, "certs", &certs);
  int nkeys = string_array(env, options, "keys", &keys);
  if (ncerts < 1 || ncerts != nkeys) {
    if (ncerts >= 0) free_strings(certs, ncerts);
    if (nkeys >= 0) free_strings(keys, nkeys);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                          "createTlsContext: certs and keys must be arrays of equal, non-zero length");
    return NULL;
  }
  char *client_ca = string_property(env, options, "clientCa");
  char *cipher_list = string_property(env, options, "cipherList");
  char *cipher_suites = string_property(env, options, "cipherSuites");
  char *session_id_context = string_property(env, options, "sessionIdContext");
  /* Read in place: fp_tls_ctx_new copies the keys before this call returns. */
  const unsigned char *ticket_keys = NULL;
  size_t ticket_keys_len = 0;
  napi_value keys_value;
  bool is_buffer = false;
  if (napi_get_named_property(env, options, "ticketKeys", &keys_value) == napi_ok &&
      napi_is_buffer(env, keys_value, &is_buffer) == napi_ok && is_buffer) {
    void *data = NULL;
    napi_get_buffer_info(env, keys_value, &data, &ticket_keys_len);
    ticket_keys = data;
  }
  fp_tls_ctx_options o;
  memset(&o, 0, sizeof(o));
  o.certs = (const char **)certs;
  o.keys = (const char **)keys;
  o.npairs = (uint32_t)ncerts;
  o.client_ca = client_ca;
  o.verify_depth = (int)number_property(env, options, "verifyDepth", 1);
  o.min_version = (int)number_property(env, options, "minVersion", 0);
  o.max_version = (int)number_property(env, options, "maxVersion", 0);
  o.options = (uint64_t)number_property(env, options, "options", 0);
  o.cipher_list = cipher_list;
  o.cipher_suites = cipher_suites;
  o.session_id_context = (const unsigned char *)session_id_context;
  o.session_id_context_len = session_id_context != NULL ? (uint32_t)strlen(session_id_context) : 0;
  o.ticket_keys = ticket_keys_len == FP_TLS_TICKET_KEYS ? ticket_keys : NULL;
  char error[320];
  struct ssl_ctx_st *ctx = NULL;
  if (ticket_keys != NULL && o.ticket_keys == NULL) {
    snprintf(error, sizeof(error), "ticketKeys must be %d bytes", FP_TLS_TICKET_KEYS);
  } else {
    ctx = fp_tls_ctx_new(&o, error, sizeof(error));
  }
  free_strings(certs, ncerts);
  free_strings(keys, nkeys);
  free(client_ca);
  free(cipher_list);
  free(cipher_suites);
  free(session_id_context);
  if (ctx == NULL) {
    napi_throw_error(env, "ERR_TLS_CONTEXT", error);
    return NULL;
  }
  napi_value external;
  if (napi_create_external(env, ctx, finalize_context, NULL, &external) != napi_ok) {
    fp_tls_ctx_free(ctx);
    return NULL;
  }
  napi_type_tag_object(env, external, &TLS_CONTEXT_TAG);
  return external;
}

struct ssl_ctx_st *strait_tls_context_arg(napi_env env, napi_value value) {
  bool tagged = false;
  void *ctx = NULL;
  if (napi_check_object_type_tag(env, value, &TLS_CONTEXT_TAG, &tagged) != napi_ok || !tagged) {
    return NULL;
  }
  if (napi_get_value_external(env, value, &ctx) != napi_ok) return NULL;
  return ctx;
}
