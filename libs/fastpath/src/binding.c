/*
 * Node-API surface of the fast path (see ../README.md for the JavaScript contract). A loop object
 * is a plain object of functions that carry the loop as their data pointer, so no call unwraps
 * `this`. Queued core events are delivered to the one `onEvent` callback inside a callback scope
 * per batch, so promise jobs and process.nextTick callbacks run after each batch as they do after
 * any I/O callback.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "fastpath.h"
#include "tls_binding.h"
#include "udp_relay.h"

/* Bytes in flight per relay direction (a pipe's capacity, or a buffer). */
#define DEFAULT_BUFFER_SIZE (256u * 1024u)
#define DEFAULT_BACKLOG 511 /* Node's net.Server default */
#define MAX_FLUSH_ROUNDS 16

/*
 * Lifetime: the loop's memory is freed once its libuv handles are closed (after shutdown()) and
 * every JavaScript function holding it was garbage-collected, whichever comes last; the strong
 * reference to `onEvent` is dropped when the handles are closed, so a shut-down loop can be
 * collected. When the environment goes away first (process exit, a worker's end), an async cleanup
 * hook shuts the loop down and holds the teardown until the handles are closed: their close
 * callbacks live in this library, which Node may unload right after.
 */
typedef struct {
  fp_loop loop;
  napi_env env;
  napi_ref callback;
  napi_ref resource;
  napi_async_context async;
  napi_async_cleanup_hook_handle cleanup; /* registered and not yet removed */
  int handles_closed; /* every libuv handle of the loop is closed */
  int js_refs;        /* live JavaScript objects holding this pointer */
  /* Batched delivery (useEventBuffer): events as numbers in a Float64Array, one call per batch. */
  napi_ref batch_ref;
  double *batch;
  uint32_t batch_cap; /* events the buffer holds */
} binding_t;

/* Doubles per event in a batch: type, id, then four values (see batch_event). */
#define BATCH_FIELDS 6
/* Type of the call that hands over a batch: onEvent(0, count). */
#define FP_EV_BATCH 0

#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) return NULL;                                                            \
  } while (0)

static napi_value throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return NULL;
}

/* An Error shaped like Node's system errors: code, errno (libuv, negative), syscall, address. */
static napi_value throw_system(napi_env env, int err, const char *syscall, const char *host,
                               int port) {
  char message[256];
  const char *code = uv_err_name(-err);
  if (host != NULL) {
    snprintf(message, sizeof(message), "%s %s %s:%d", syscall, code, host, port);
  } else {
    snprintf(message, sizeof(message), "%s %s", syscall, code);
  }
  napi_value msg, code_value, error, errno_value, syscall_value;
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value);
  napi_create_error(env, code_value, msg, &error);
  napi_set_named_property(env, error, "code", code_value);
  napi_create_int32(env, -err, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value);
  napi_set_named_property(env, error, "syscall", syscall_value);
  if (host != NULL) {
    napi_value address, port_value;
    napi_create_string_utf8(env, host, NAPI_AUTO_LENGTH, &address);
    napi_set_named_property(env, error, "address", address);
    napi_create_int32(env, port, &port_value);
    napi_set_named_property(env, error, "port", port_value);
  }
  napi_throw(env, error);
  return NULL;
}

static int get_number(napi_env env, napi_value value, double *out) {
  return napi_get_value_double(env, value, out) == napi_ok;
}

static int get_optional_number(napi_env env, napi_value object, const char *name, double *out) {
  napi_valuetype type;
  if (object == NULL || napi_typeof(env, object, &type) != napi_ok || type != napi_object) return 0;
  napi_value value;
  if (napi_get_named_property(env, object, name, &value) != napi_ok) return 0;
  if (napi_typeof(env, value, &type) != napi_ok) return 0;
  if (type == napi_boolean) {
    bool flag;
    napi_get_value_bool(env, value, &flag);
    *out = flag ? 1 : 0;
    return 1;
  }
  return type == napi_number && get_number(env, value, out);
}

static int get_optional_string(napi_env env, napi_value object, const char *name, char *out,
                               size_t len) {
  napi_valuetype type;
  if (object == NULL || napi_typeof(env, object, &type) != napi_ok || type != napi_object) return 0;
  napi_value value;
  if (napi_get_named_property(env, object, name, &value) != napi_ok) return 0;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_string) return 0;
  size_t copied;
  return napi_get_value_string_utf8(env, value, out, len, &copied) == napi_ok;
}

/* A numeric host (no name resolution here) and port into a sockaddr. */
static int parse_address(napi_env env, napi_value host_value, double port,
                         struct sockaddr_storage *addr, socklen_t *len, char *host,
                         size_t host_len) {
  size_t copied;
  if (napi_get_value_string_utf8(env, host_value, host, host_len, &copied) != napi_ok) return -1;
  if (!(port >= 0 && port <= 65535) || port != (double)(int)port) return -1;
  memset(addr, 0, sizeof(*addr));
  struct sockaddr_in *in = (struct sockaddr_in *)addr;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
  if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)port);
    *len = sizeof(*in);
    return 0;
  }
  if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)port);
    *len = sizeof(*in6);
    return 0;
  }
  return -1;
}

static binding_t *args(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  void *data = NULL;
  if (napi_get_cb_info(env, info, argc, argv, NULL, &data) != napi_ok) return NULL;
  return data;
}

/* The connection named by argv[0], or NULL (unknown, closed, or the loop is shut down). */
static fp_conn *conn_arg(napi_env env, binding_t *b, napi_value value) {
  double id;
  if (b->loop.shut || !get_number(env, value, &id)) return NULL;
  return fp_lookup(&b->loop, id);
}

static napi_value boolean(napi_env env, int flag) {
  napi_value result;
  napi_get_boolean(env, flag != 0, &result);
  return result;
}

/* ------------------------------------------------------------------ event delivery */

static void call_js(napi_env env, napi_value resource, napi_value callback, size_t argc,
                    napi_value *argv) {
  if (napi_call_function(env, resource, callback, argc, argv, NULL) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value exception;
      napi_get_and_clear_last_exception(env, &exception);
      napi_fatal_exception(env, exception);
    }
  }
}

/* The IPv4 address of `addr` (IPv4-mapped included) in host order, or -1 for IPv6. */
static double ipv4_number(const struct sockaddr_in6 *addr) {
  const uint8_t *octets;
  if (addr->sin6_family == AF_INET) {
    octets = (const uint8_t *)&((const struct sockaddr_in *)addr)->sin_addr;
  } else if (addr->sin6_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&addr->sin6_addr)) {
    octets = &addr->sin6_addr.s6_addr[12];
  } else {
    return -1;
  }
  return (double)(((uint32_t)octets[0] << 24) | ((uint32_t)octets[1] << 16) |
                  ((uint32_t)octets[2] << 8) | (uint32_t)octets[3]);
}

/*
 * The connection a queued event names, or NULL when its slot went to another one. The struct of
 * a connection that ended stays readable until free_dead, which waits for an empty queue.
 */
static fp_conn *event_conn(fp_loop *l, const fp_event *ev) {
  fp_conn *c = ev->slot < l->nslots ? l->slots[ev->slot] : NULL;
  return c != NULL && c->gen == ev->gen ? c : NULL;
}

/*
 * Writes `ev` into the batch at `out` when it is all numbers: Connected, ConnectFailed, Closed,
 * and Accept of an IPv4 client (address as a number, `localAddr` as a number or -1). Returns 0
 * for an event only the per-event call can carry (an IPv6 address, a listener error's code), -1
 * for an Accept of a connection that is gone (dropped, as the per-event path does).
 */
static int batch_event(fp_loop *l, const fp_event *ev, double *out) {
  /* A listener error's code, a ClientHello's bytes and a TLS failure's text go one by one. */
  if (ev->type == FP_EV_LISTENER_ERROR || ev->type == FP_EV_CLIENT_HELLO ||
      ev->type == FP_EV_TLS_FAILED) {
    return 0;
  }
  out[0] = ev->type;
  out[1] = (double)ev->gen * (double)FP_MAX_SLOTS + ev->slot;
  if (ev->type != FP_EV_ACCEPT) {
    out[2] = ev->a;
    out[3] = ev->b;
    out[4] = ev->c;
    out[5] = 0;
    return 1;
  }
  fp_conn *c = event_conn(l, ev);
  if (c == NULL) return -1;
  double peer = ipv4_number(&c->peer);
  double local = c->has_local ? ipv4_number(&c->local) : -1;
  if (peer < 0 || (c->has_local && local < 0)) return 0;
  out[2] = ev->a;
  out[3] = peer;
  out[4] = ntohs(c->peer.sin6_port); /* same offset in sockaddr_in and sockaddr_in6 */
  out[5] = local;
  return 1;
}

/* Hands the batch over: onEvent(0, count). */
static void deliver_batch(napi_env env, napi_value resource, napi_value callback,
                          uint32_t count) {
  napi_handle_scope inner;
  napi_open_handle_scope(env, &inner);
  napi_value argv[2];
  napi_create_uint32(env, FP_EV_BATCH, &argv[0]);
  napi_create_uint32(env, count, &argv[1]);
  call_js(env, resource, callback, 2, argv);
  napi_close_handle_scope(env, inner);
}

static void flush_events(fp_loop *l) {
  binding_t *b = l->binding;
  napi_env env = b->env;
  if (l->q_head == l->q_tail) return;
  l->flushing = 1;
  napi_handle_scope outer;
  napi_open_handle_scope(env, &outer);
  napi_value resource, callback, undefined;
  napi_get_reference_value(env, b->resource, &resource);
  napi_get_reference_value(env, b->callback, &callback);
  napi_get_undefined(env, &undefined);
  for (int round = 0; round < MAX_FLUSH_ROUNDS && l->q_head < l->q_tail && !l->shut; round++) {
    napi_callback_scope scope;
    napi_open_callback_scope(env, resource, b->async, &scope);
    while (l->q_head < l->q_tail && !l->shut) {
      if (b->batch != NULL) {
        /* Numbers-only events go out in batches, one call each; the rest one by one, in order. */
        uint32_t count = 0;
        while (l->q_head < l->q_tail && count < b->batch_cap) {
          int fits = batch_event(l, &l->q[l->q_head], b->batch + (size_t)count * BATCH_FIELDS);
          if (fits == 0) break;
          l->q_head++;
          if (fits > 0) count++;
        }
        if (count > 0) {
          /* Handlers may queue more events; they go into the next batch (the buffer is free
           * again once this call returns). */
          deliver_batch(env, resource, callback, count);
          continue;
        }
        if (l->q_head == l->q_tail) break;
      }
      fp_event ev = l->q[l->q_head++]; /* copied: handlers may grow the queue */
      napi_handle_scope inner;
      napi_open_handle_scope(env, &inner);
      napi_value argv[6];
      napi_create_uint32(env, ev.type, &argv[0]);
      for (int i = 2; i < 6; i++) argv[i] = undefined;
      if (ev.type == FP_EV_LISTENER_ERROR) {
        napi_create_uint32(env, ev.slot, &argv[1]);
        napi_create_double(env, ev.a, &argv[2]);
        napi_create_string_utf8(env, uv_err_name((int)ev.a), NAPI_AUTO_LENGTH, &argv[3]);
      } else {
        napi_create_double(env, (double)ev.gen * (double)FP_MAX_SLOTS + ev.slot, &argv[1]);
        if (ev.type == FP_EV_ACCEPT) {
          fp_conn *c = event_conn(l, &ev);
          if (c == NULL) {
            napi_close_handle_scope(env, inner);
            continue;
          }
          char text[INET6_ADDRSTRLEN];
          int port = 0;
          int length = fp_format_addr((struct sockaddr *)&c->peer, text, sizeof(text), &port);
          napi_create_double(env, ev.a, &argv[2]);
          napi_create_string_latin1(env, text, length > 0 ? (size_t)length : 0, &argv[3]);
          napi_create_int32(env, port, &argv[4]);
          if (c->has_local) {
            length = fp_format_addr((struct sockaddr *)&c->local, text, sizeof(text), NULL);
            napi_create_string_latin1(env, text, length > 0 ? (size_t)length : 0, &argv[5]);
          }
        } else {
          napi_create_double(env, ev.a, &argv[2]);
          napi_create_double(env, ev.b, &argv[3]);
          napi_create_double(env, ev.c, &argv[4]);
          if (ev.type == FP_EV_CLIENT_HELLO || ev.type == FP_EV_TLS_FAILED) {
            fp_conn *c = event_conn(l, &ev);
            if (c == NULL || c->tls_bytes == NULL) {
              napi_close_handle_scope(env, inner);
              continue;
            }
            if (ev.type == FP_EV_CLIENT_HELLO) {
              napi_create_double(env, c->tls_bytes_len, &argv[2]);
              napi_create_buffer_copy(env, c->tls_bytes_len, c->tls_bytes, NULL, &argv[3]);
            } else {
              napi_create_string_utf8(env, (const char *)c->tls_bytes, c->tls_bytes_len, &argv[5]);
            }
          }
        }
      }
      call_js(env, resource, callback, 6, argv);
      napi_close_handle_scope(env, inner);
    }
    if (l->q_head == l->q_tail) l->q_head = l->q_tail = 0;
    /* Runs process.nextTick callbacks and promise jobs, which may queue more events. */
    napi_close_callback_scope(env, scope);
  }
  napi_close_handle_scope(env, outer);
  l->flushing = 0;
}

/* ------------------------------------------------------------------ loop methods */

/* The bound listener as JavaScript sees it: { listenerId, port, address }. */
static napi_value bound_listener(napi_env env, int id, int port, const char *address) {
  napi_value result, value;
  CHECK(napi_create_object(env, &result));
  napi_create_uint32(env, (uint32_t)id, &value);
  napi_set_named_property(env, result, "listenerId", value);
  napi_create_int32(env, port, &value);
  napi_set_named_property(env, result, "port", value);
  napi_create_string_utf8(env, address, NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, result, "address", value);
  return result;
}

/* The arguments of listenTcp and openTcpListenSocket: (host, port, { backlog, reusePort, ipv6Only,
 * fd }). */
typedef struct {
  struct sockaddr_storage addr;
  socklen_t len;
  char host[INET6_ADDRSTRLEN + 16];
  double port, backlog, reuse_port, ipv6_only, fd;
} listen_args;

/* 0, or -1 with a JavaScript exception thrown. */
static int parse_listen_args(napi_env env, size_t argc, napi_value *argv, listen_args *out) {
  out->backlog = DEFAULT_BACKLOG;
  out->reuse_port = out->ipv6_only = 0;
  out->fd = -1;
  if (argc < 2 || !get_number(env, argv[1], &out->port)) {
    throw_type(env, "port must be a number");
    return -1;
  }
  napi_value options = argc > 2 ? argv[2] : NULL;
  get_optional_number(env, options, "backlog", &out->backlog);
  get_optional_number(env, options, "reusePort", &out->reuse_port);
  get_optional_number(env, options, "ipv6Only", &out->ipv6_only);
  get_optional_number(env, options, "fd", &out->fd);
  if (parse_address(env, argv[0], out->port, &out->addr, &out->len, out->host,
                    sizeof(out->host)) < 0) {
    throw_system(env, EINVAL, "listen", out->host, (int)out->port);
    return -1;
  }
  return 0;
}

// listenTcp(host, port, { backlog, reusePort, ipv6Only, fd }): binds and listens, or with `fd`
// polls a copy of that listening socket (shared with other processes; host and port only name it
// in errors).
static napi_value m_listen_tcp(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3] = {NULL, NULL, NULL};
  binding_t *b = args(env, info, &argc, argv);
  if (b == NULL) return NULL;
  if (b->loop.shut) return throw_type(env, "the fast path loop is shut down");
  listen_args a;
  if (parse_listen_args(env, argc, argv, &a) < 0) return NULL;
  int bound_port = 0;
  char bound[INET6_ADDRSTRLEN];
  const char *syscall = "listen";
  int id;
  if (a.fd >= 0) {
    syscall = "dup";
    int fd = fcntl((int)a.fd, F_DUPFD_CLOEXEC, 0);
    id = fd < 0 ? -errno
                : fp_adopt_listener(&b->loop, fd, 1, &bound_port, bound, sizeof(bound), &syscall);
    if (fd >= 0 && id < 0) close(fd);
  } else {
    id = fp_listen(&b->loop, (struct sockaddr *)&a.addr, a.len, (int)a.backlog, a.reuse_port != 0,
                   a.ipv6_only != 0, &bound_port, bound, sizeof(bound), &syscall);
  }
  fp_after_api(&b->loop);
  if (id < 0) return throw_system(env, -id, syscall, a.host, (int)a.port);
  return bound_listener(env, id, bound_port, bound);
}

// openTcpListenSocket(host, port, { backlog, reusePort, ipv6Only }) -> fd: a listening socket no
// loop polls, for another process (or loop) to adopt with listenTcp's `fd`.
static napi_value open_tcp_listen_socket(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3] = {NULL, NULL, NULL};
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  listen_args a;
  if (parse_listen_args(env, argc, argv, &a) < 0) return NULL;
  const char *syscall = "listen";
  int fd = fp_listen_socket((struct sockaddr *)&a.addr, a.len, (int)a.backlog, a.reuse_port != 0,
                            a.ipv6_only != 0, &syscall);
  if (fd < 0) return throw_system(env, -fd, syscall, a.host, (int)a.port);
  napi_value result;
  CHECK(napi_create_int32(env, fd, &result));
  return result;
}

static napi_value m_close_listener(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  binding_t *b = args(env, info, &argc, argv);
  double id;
  if (b == NULL || b->loop.shut || argc < 1 || !get_number(env, argv[0], &id)) {
    return boolean(env, 0);
  }
  int closed = fp_close_listener(&b->loop, (uint32_t)id);
  fp_after_api(&b->loop);
  return boolean(env, closed);
}

static napi_value m_connect(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5] = {NULL, NULL, NULL, NULL, NULL};
  binding_t *b = args(env, info, &argc, argv);
  if (b == NULL) return NULL;
  double port, timeout = 0, idle = -1;
  if (argc < 3 || !get_number(env, argv[2], &port)) return throw_type(env, "port must be a number");
  if (argc > 3) get_number(env, argv[3], &timeout);
  if (argc > 4) get_number(env, argv[4], &idle);
  struct sockaddr_storage addr;
  socklen_t len;
  char host[INET6_ADDRSTRLEN + 16];
  if (parse_address(env, argv[1], port, &addr, &len, host, sizeof(host)) < 0) {
    return throw_type(env, "connect() takes an IP address and a port");
  }
  fp_conn *c = conn_arg(env, b, argv[0]);
  if (c == NULL) return boolean(env, 0);
  if (!(timeout >= 0)) timeout = 0;
  if (timeout > 4294967295.0) timeout = 4294967295.0;
  int32_t relay_idle = idle >= 0 ? (idle > 2147483647.0 ? 2147483647 : (int32_t)idle) : -1;
  int err = fp_connect(&b->loop, c, (struct sockaddr *)&addr, len, (uint32_t)timeout, relay_idle);
  fp_after_api(&b->loop);
  return boolean(env, err == 0);
}

static napi_value m_relay(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  binding_t *b = args(env, info, &argc, argv);
  if (b == NULL) return NULL;
  double idle = 0;
  if (argc > 1) get_number(env, argv[1], &idle);
  fp_conn *c = argc > 0 ? conn_arg(env, b, argv[0]) : NULL;
  if (c == NULL) return boolean(env, 0);
  if (!(idle >= 0)) idle = 0;
  if (idle > 4294967295.0) idle = 4294967295.0;
  int err = fp_relay(&b->loop, c, (uint32_t)idle);
  fp_after_api(&b->loop);
  return boolean(env, err == 0);
}

static napi_value m_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {NULL};
  binding_t *b = args(env, info, &argc, argv);
  if (b == NULL) return NULL;
  fp_conn *c = argc > 0 ? conn_arg(env, b, argv[0]) : NULL;
  if (c == NULL) return boolean(env, 0);
  fp_close(&b->loop, c);
  fp_after_api(&b->loop);
  return boolean(env, 1);
}

static napi_value m_detach(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {NULL};
  binding_t *b = args(env, info, &argc, argv);
  if (b == NULL) return NULL;
  fp_conn *c = argc > 0 ? conn_arg(env, b, argv[0]) : NULL;
  int fd = c != NULL ? fp_detach(&b->loop, c) : -1;
  fp_after_api(&b->loop);
  napi_value result;
  napi_create_int32(env, fd, &result);
  return result;
}

// terminateTls(listenerId, handshakeTimeoutMs) -> boolean: the listener's connections start with
// a TLS handshake (ClientHello events, tlsAccept); false in splice mode or for a closed listener.
static napi_value m_terminate_tls(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  binding_t *b = args(env, info, &argc, argv);
  double id = 0, timeout = 0;
  if (b == NULL || b->loop.shut || argc < 2 || !get_number(env, argv[0], &id) ||
      !get_number(env, argv[1], &timeout)) {
    return boolean(env, 0);
  }
  if (!(timeout >= 1)) timeout = 1;
  if (timeout > 4294967295.0) timeout = 4294967295.0;
  return boolean(env, fp_listener_tls(&b->loop, (uint32_t)id, (uint32_t)timeout) == 0);
}

// tlsAccept(connId, context) -> boolean: answers a ClientHello event; the handshake goes on with
// the context from createTlsContext. False for a connection not waiting for one.
static napi_value m_tls_accept(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  binding_t *b = args(env, info, &argc, argv);
  if (b == NULL) return NULL;
  struct ssl_ctx_st *ctx = argc > 1 ? strait_tls_context_arg(env, argv[1]) : NULL;
  if (ctx == NULL) return throw_type(env, "tlsAccept(connId, context): not a TLS context");
  fp_conn *c = conn_arg(env, b, argv[0]);
  int err = c != NULL ? fp_tls_accept(&b->loop, c, ctx) : -EINVAL;
  fp_after_api(&b->loop);
  return boolean(env, err == 0);
}

static napi_value m_counters(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  binding_t *b = args(env, info, &argc, argv);
  if (b == NULL) return NULL;
  fp_conn *c = argc > 0 ? conn_arg(env, b, argv[0]) : NULL;
  double values[4] = {0, 0, 0, 0};
  if (c != NULL) {
    values[0] = (double)c->c2u.bytes;
    values[1] = (double)c->u2c.bytes;
    values[2] = (double)c->c2u.in_flight;
    values[3] = (double)c->u2c.in_flight;
  }
  bool is_typed = false;
  if (argc > 1) napi_is_typedarray(env, argv[1], &is_typed);
  if (is_typed) {
    napi_typedarray_type type;
    size_t length;
    void *data;
    napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL);
    if (type == napi_float64_array && length >= 4 && c != NULL) memcpy(data, values, sizeof(values));
    return boolean(env, c != NULL && type == napi_float64_array && length >= 4);
  }
  napi_value result, value;
  if (c == NULL) {
    napi_get_undefined(env, &result);
    return result;
  }
  CHECK(napi_create_array_with_length(env, 4, &result));
  for (uint32_t i = 0; i < 4; i++) {
    napi_create_double(env, values[i], &value);
    napi_set_element(env, result, i, value);
  }
  return result;
}

/*
 * useEventBuffer(Float64Array): from now on events that are all numbers are written into the
 * array, six doubles each, and handed over with one onEvent(0, count) per batch (see README).
 * Returns false (and changes nothing) for anything but a Float64Array of at least one event.
 */
static napi_value m_use_event_buffer(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {NULL};
  binding_t *b = args(env, info, &argc, argv);
  if (b == NULL) return NULL;
  bool is_typed = false;
  if (argc < 1 || b->loop.shut || napi_is_typedarray(env, argv[0], &is_typed) != napi_ok ||
      !is_typed) {
    return boolean(env, 0);
  }
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL) != napi_ok ||
      type != napi_float64_array || length < BATCH_FIELDS) {
    return boolean(env, 0);
  }
  if (b->batch_ref != NULL) napi_delete_reference(env, b->batch_ref);
  napi_create_reference(env, argv[0], 1, &b->batch_ref);
  b->batch = data;
  b->batch_cap = (uint32_t)(length / BATCH_FIELDS);
  return boolean(env, 1);
}

static void set_number(napi_env env, napi_value object, const char *name, double number) {
  napi_value value;
  napi_create_double(env, number, &value);
  napi_set_named_property(env, object, name, value);
}

static napi_value m_stats(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  binding_t *b = args(env, info, &argc, NULL);
  if (b == NULL) return NULL;
  fp_loop *l = &b->loop;
  napi_value result;
  CHECK(napi_create_object(env, &result));
  set_number(env, result, "connections", l->nconns);
  set_number(env, result, "listeners", l->nlisteners);
  napi_value relay;
  napi_create_string_utf8(env, l->copy_mode ? "copy" : "splice", NAPI_AUTO_LENGTH, &relay);
  napi_set_named_property(env, result, "relay", relay);
  set_number(env, result, "buffersInUse", l->bufs_in_use);
  set_number(env, result, "buffersPooled", l->bufs_pooled);
  set_number(env, result, "bufferSize", l->buf_size);
  set_number(env, result, "accepted", (double)l->accepted);
  set_number(env, result, "relayed", (double)l->relayed_conns);
  set_number(env, result, "relayedBytes", (double)l->relayed_bytes);
  set_number(env, result, "deadlines", l->heap_size);
  napi_value flag;
  napi_get_boolean(env, l->owner != 0, &flag);
  napi_set_named_property(env, result, "ownsThread", flag);
  napi_get_boolean(env, l->shut != 0, &flag);
  napi_set_named_property(env, result, "shutDown", flag);
  return result;
}

static void maybe_free(binding_t *b) {
  if (b->handles_closed && b->js_refs == 0) free(b);
}

static void on_loop_closed(fp_loop *l) {
  binding_t *b = l->binding;
  b->handles_closed = 1;
  napi_delete_reference(b->env, b->callback);
  napi_delete_reference(b->env, b->resource);
  if (b->batch_ref != NULL) napi_delete_reference(b->env, b->batch_ref);
  b->batch = NULL;
  napi_async_destroy(b->env, b->async);
  if (b->cleanup != NULL) {
    /* Unregisters the hook, or, when it is running, lets the environment's teardown go on. */
    napi_remove_async_cleanup_hook(b->cleanup);
    b->cleanup = NULL;
  }
  maybe_free(b);
}

static void cleanup_hook(napi_async_cleanup_hook_handle handle, void *arg) {
  binding_t *b = arg;
  b->cleanup = handle;
  fp_loop_shutdown(&b->loop, on_loop_closed); /* a no-op after shutdown(): closing already */
}

static void finalize_js(napi_env env, void *data, void *hint) {
  binding_t *b = data;
  b->js_refs--;
  maybe_free(b);
}

static napi_value m_shutdown(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  binding_t *b = args(env, info, &argc, NULL);
  if (b == NULL || b->loop.shut) return NULL;
  fp_loop_shutdown(&b->loop, on_loop_closed);
  return NULL;
}

/* ------------------------------------------------------------------ module */

static napi_value create_loop(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_valuetype type = napi_undefined;
  if (argc > 0) napi_typeof(env, argv[0], &type);
  if (type != napi_function) return throw_type(env, "createLoop(onEvent): onEvent must be a function");
  double buffer_size = DEFAULT_BUFFER_SIZE;
  get_optional_number(env, argc > 1 ? argv[1] : NULL, "bufferSize", &buffer_size);
  if (!(buffer_size >= 4096) || buffer_size > (64.0 * 1024 * 1024)) {
    return throw_type(env, "bufferSize must be between 4096 and 64 MiB");
  }
  int splice_mode = 0;
  char relay[16] = "copy";
  if (argc > 1 && get_optional_string(env, argv[1], "relay", relay, sizeof(relay))) {
    if (strcmp(relay, "splice") == 0) splice_mode = 1;
    else if (strcmp(relay, "copy") != 0) return throw_type(env, "relay must be 'copy' or 'splice'");
  }

  uv_loop_t *uv;
  CHECK(napi_get_uv_event_loop(env, &uv));
  binding_t *b = calloc(1, sizeof(binding_t));
  if (b == NULL) return throw_system(env, ENOMEM, "createLoop", NULL, 0);
  int err = fp_loop_init(&b->loop, uv, (uint32_t)buffer_size, !splice_mode);
  if (err < 0) {
    free(b);
    return throw_system(env, -err, "epoll_create1", NULL, 0);
  }
  b->env = env;
  b->loop.flush = flush_events;
  b->loop.binding = b;
  napi_create_reference(env, argv[0], 1, &b->callback);
  napi_value resource, name;
  napi_create_object(env, &resource);
  napi_create_reference(env, resource, 1, &b->resource);
  napi_create_string_utf8(env, "STRAIT_FASTPATH", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, resource, name, &b->async);
  napi_add_async_cleanup_hook(env, cleanup_hook, b, &b->cleanup);

  static const struct {
    const char *name;
    napi_callback fn;
  } methods[] = {
      {"listenTcp", m_listen_tcp}, {"closeListener", m_close_listener},
      {"connect", m_connect},      {"relay", m_relay},
      {"close", m_close},          {"destroy", m_close},
      {"detach", m_detach},        {"counters", m_counters},
      {"stats", m_stats},          {"shutdown", m_shutdown},
      {"useEventBuffer", m_use_event_buffer},
      {"terminateTls", m_terminate_tls},   {"tlsAccept", m_tls_accept},
  };
  napi_value loop;
  CHECK(napi_create_object(env, &loop));
  for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
    napi_value fn;
    CHECK(napi_create_function(env, methods[i].name, NAPI_AUTO_LENGTH, methods[i].fn, b, &fn));
    CHECK(napi_add_finalizer(env, fn, b, finalize_js, NULL, NULL));
    b->js_refs++;
    CHECK(napi_set_named_property(env, loop, methods[i].name, fn));
  }
  return loop;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn, version;
  CHECK(napi_create_function(env, "createLoop", NAPI_AUTO_LENGTH, create_loop, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "createLoop", fn));
  CHECK(napi_create_function(env, "createUdpRelay", NAPI_AUTO_LENGTH, strait_create_udp_relay,
                             NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "createUdpRelay", fn));
  CHECK(napi_create_function(env, "openTcpListenSocket", NAPI_AUTO_LENGTH, open_tcp_listen_socket,
                             NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "openTcpListenSocket", fn));
  CHECK(napi_create_function(env, "createTlsContext", NAPI_AUTO_LENGTH, strait_create_tls_context,
                             NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "createTlsContext", fn));
  /* 2: createUdpRelay; 3: openTcpListenSocket and listenTcp's `fd`; 4: TLS listeners */
  CHECK(napi_create_uint32(env, 4, &version));
  CHECK(napi_set_named_property(env, exports, "abiVersion", version));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
