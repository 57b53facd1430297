/* Node-API functions of the fast path's TLS contexts (tls_binding.c). */
#ifndef STRAIT_FASTPATH_TLS_BINDING_H
#define STRAIT_FASTPATH_TLS_BINDING_H

#include <node_api.h>

struct ssl_ctx_st;

napi_value strait_create_tls_context(napi_env env, napi_callback_info info);
/* The SSL_CTX of an external made by createTlsContext, or NULL for anything else. */
struct ssl_ctx_st *strait_tls_context_arg(napi_env env, napi_value value);

#endif
