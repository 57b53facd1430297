// The UDP half of the native fast path: listener sockets, the per-client session table and both
// relay directions live here, so a datagram never enters JavaScript. JavaScript owns every
// decision and the session lifecycle: it is told about a new client (route it, then connect it to
// a node, or close it), about the first reply (the balancer's "connected"), about a node that
// failed before answering (retry elsewhere: the datagrams kept so far are replayed) and about an
// idle session; a session ends only when JavaScript closes it.
//
// Everything runs on the Node.js main thread through libuv's own uv_udp_t handles (recvmmsg on
// listeners), so there are no threads and no locks; sends are uv_udp_try_send, and a datagram the
// kernel cannot take right now (EAGAIN) is dropped, as the kernel drops UDP it cannot buffer.
#include <node_api.h>
#include <stdio.h>
#include <uv.h>

#include "udp_relay.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

// Datagrams kept per session until its node first answers, as the JavaScript path keeps them:
// what is still to be sent while the node is being chosen, and what a retry on another node must
// replay.
#define QUEUE_DATAGRAM_LIMIT 64
#define QUEUE_BYTE_LIMIT (64 * 1024)
// One receive buffer for the whole relay: every datagram is forwarded (copied into the kernel)
// before the next read, so nothing outlives a callback. 16 datagrams of 64 KiB per recvmmsg.
#define DGRAM_MAX 65536
#define RECV_BUFFER_SIZE (16 * DGRAM_MAX)

enum { EV_NEW_SESSION = 1, EV_FIRST_REPLY = 2, EV_UPSTREAM_ERROR = 3, EV_IDLE = 4 };

typedef struct queued_s {
  struct queued_s* next;
  size_t len;
  char data[];
} queued_t;

typedef struct udp_listener_s udp_listener_t;

typedef struct session_s {
  uint32_t id;
  udp_relay_t* relay;  // kept here: the listener may be freed before the session's timer closes
  udp_listener_t* listener;
  struct sockaddr_storage client;
  uint32_t hash;
  struct session_s* bucket_next;  // chain in the listener's client table
  struct session_s* id_next;      // chain in the relay's id table
  uv_udp_t* upstream;             // connected socket to the node; NULL while none
  int replied;
  int overflow;  // the queue could not keep everything: no replay possible
  queued_t* queue_head;
  queued_t* queue_tail;
  size_t queue_count;
  size_t queue_bytes;
  double bytes_from_client;
  double bytes_to_client;
  uint64_t last_activity;
  uint64_t idle_timeout_ms;
  uv_timer_t timer;
  int timer_armed;
} session_t;

/**
 * A chained hash table of sessions: a listener's, keyed by client address (`hash`, chain
 * `bucket_next`), or the relay's, keyed by id (chain `id_next`).
 */
typedef struct {
  session_t** buckets;
  uint32_t bucket_count; /* a power of two; 0 before the first insert */
  uint32_t size;
  int by_id;
} session_index_t;

// Listener and upstream handles carry, as `data`, a struct whose first member is the relay, so the
// shared allocator finds it from either.
struct udp_listener_s {
  udp_relay_t* relay;
  uv_udp_t handle;
  uint32_t id;
  int accepting;
  int closed;
  session_index_t by_client;
  udp_listener_t* next;
};

struct udp_relay_s {
  napi_env env;
  napi_ref on_event;
  napi_ref resource;
  napi_async_context async_context;
  // Lifetime (as the TCP loop's, see binding.c): memory is freed once every libuv handle is closed
  // and the JavaScript object was collected, whichever comes last. When the environment goes away
  // first, the async cleanup hook shuts the relay down and holds the teardown until the handles'
  // close callbacks (code in this library) have run.
  napi_async_cleanup_hook_handle cleanup;
  uint32_t open_handles;
  int js_alive;
  uv_loop_t* loop;
  char* recv_buffer;
  int recv_buffer_busy;
  udp_listener_t* listeners;
  uint32_t next_listener_id;
  uint32_t next_session_id;
  session_index_t by_id;
  int shut_down;
};

// ------------------------------------------------------------------ hashing and tables

static uint32_t hash_bytes(const unsigned char* bytes, size_t len, uint32_t seed) {
  uint32_t hash = 2166136261u ^ seed;  // FNV-1a
  for (size_t i = 0; i < len; i++) hash = (hash ^ bytes[i]) * 16777619u;
  return hash;
}

static uint32_t hash_client(const struct sockaddr* addr) {
  if (addr->sa_family == AF_INET) {
    const struct sockaddr_in* in = (const struct sockaddr_in*)addr;
    return hash_bytes((const unsigned char*)&in->sin_addr, 4, in->sin_port);
  }
  const struct sockaddr_in6* in6 = (const struct sockaddr_in6*)addr;
  return hash_bytes((const unsigned char*)&in6->sin6_addr, 16, in6->sin6_port);
}

static int same_client(const struct sockaddr_storage* a, const struct sockaddr* b) {
  if (a->ss_family != b->sa_family) return 0;
  if (b->sa_family == AF_INET) {
    const struct sockaddr_in* x = (const struct sockaddr_in*)a;
    const struct sockaddr_in* y = (const struct sockaddr_in*)b;
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  const struct sockaddr_in6* x = (const struct sockaddr_in6*)a;
  const struct sockaddr_in6* y = (const struct sockaddr_in6*)b;
  return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

static size_t sockaddr_size(int family) {
  return family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

static session_t** chain_of(const session_index_t* index, session_t* session) {
  return index->by_id ? &session->id_next : &session->bucket_next;
}

static uint32_t key_of(const session_index_t* index, const session_t* session) {
  return index->by_id ? session->id : session->hash;
}

static session_t** bucket_of(const session_index_t* index, uint32_t key) {
  return &index->buckets[key & (index->bucket_count - 1)];
}

/** Adds a session, doubling the buckets first when it would exceed one per bucket. */
static int index_insert(session_index_t* index, session_t* session) {
  if (index->size + 1 > index->bucket_count) {
    uint32_t count = index->bucket_count ? index->bucket_count * 2 : 256;
    session_t** buckets = calloc(count, sizeof(session_t*));
    if (!buckets) return -1;
    session_index_t grown = {buckets, count, index->size, index->by_id};
    for (uint32_t i = 0; i < index->bucket_count; i++) {
      session_t* moving = index->buckets[i];
      while (moving) {
        session_t* next = *chain_of(index, moving);
        session_t** bucket = bucket_of(&grown, key_of(index, moving));
        *chain_of(index, moving) = *bucket;
        *bucket = moving;
        moving = next;
      }
    }
    free(index->buckets);
    *index = grown;
  }
  session_t** bucket = bucket_of(index, key_of(index, session));
  *chain_of(index, session) = *bucket;
  *bucket = session;
  index->size++;
  return 0;
}

static void index_remove(session_index_t* index, session_t* session) {
  if (!index->buckets) return;
  session_t** link = bucket_of(index, key_of(index, session));
  while (*link && *link != session) link = chain_of(index, *link);
  if (!*link) return;
  *link = *chain_of(index, session);
  index->size--;
}

static void index_free(session_index_t* index) {
  free(index->buckets);
  index->buckets = NULL;
  index->bucket_count = 0;
  index->size = 0;
}

static session_t* find_session(udp_relay_t* relay, uint32_t id) {
  if (!relay->by_id.buckets) return NULL;
  session_t* session = *bucket_of(&relay->by_id, id);
  while (session && session->id != id) session = session->id_next;
  return session;
}

static session_t* find_client(udp_listener_t* listener, const struct sockaddr* addr,
                              uint32_t hash) {
  if (!listener->by_client.buckets) return NULL;
  session_t* session = *bucket_of(&listener->by_client, hash);
  while (session && !(session->hash == hash && same_client(&session->client, addr)))
    session = session->bucket_next;
  return session;
}

static void unlink_session(session_t* session) {
  index_remove(&session->listener->by_client, session);
  index_remove(&session->relay->by_id, session);
}

// ------------------------------------------------------------------ events to JavaScript

static void emit(udp_relay_t* relay, int type, uint32_t session_id, napi_value extra1,
                 napi_value extra2, napi_value extra3) {
  napi_env env = relay->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value callback, recv, undefined, argv[5];
  napi_get_reference_value(env, relay->on_event, &callback);
  napi_get_reference_value(env, relay->resource, &recv);  // make_callback wants an object
  napi_get_undefined(env, &undefined);
  napi_create_int32(env, type, &argv[0]);
  napi_create_uint32(env, session_id, &argv[1]);
  argv[2] = extra1 ? extra1 : undefined;
  argv[3] = extra2 ? extra2 : undefined;
  argv[4] = extra3 ? extra3 : undefined;
  napi_value result;
  // make_callback: microtasks and nextTicks queued by the handler run before returning to libuv.
  napi_status status =
      napi_make_callback(env, relay->async_context, recv, callback, 5, argv, &result);
  bool pending = false;
  if (status != napi_ok && napi_is_exception_pending(env, &pending) == napi_ok && pending) {
    // A throwing handler is a bug in the engine: surface it as an uncaught exception, as a
    // throwing socket event listener would be.
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);
  }
  napi_close_handle_scope(env, scope);
}

// ------------------------------------------------------------------ datagram queue

static void free_queue(session_t* session) {
  queued_t* item = session->queue_head;
  while (item) {
    queued_t* next = item->next;
    free(item);
    item = next;
  }
  session->queue_head = session->queue_tail = NULL;
  session->queue_count = 0;
  session->queue_bytes = 0;
}

/** Keeps a copy until the first reply; returns 0 when it could not (limits or memory). */
static int enqueue(session_t* session, const char* data, size_t len) {
  if (session->queue_count >= QUEUE_DATAGRAM_LIMIT ||
      session->queue_bytes + len > QUEUE_BYTE_LIMIT)
    return 0;
  queued_t* item = malloc(sizeof(queued_t) + len);
  if (!item) return 0;
  item->next = NULL;
  item->len = len;
  memcpy(item->data, data, len);
  if (session->queue_tail)
    session->queue_tail->next = item;
  else
    session->queue_head = item;
  session->queue_tail = item;
  session->queue_count++;
  session->queue_bytes += len;
  return 1;
}

// ------------------------------------------------------------------ libuv callbacks

static void alloc_shared(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) {
  udp_relay_t* relay = *(udp_relay_t**)handle->data;
  // libuv pairs every allocation with exactly one callback without UV_UDP_MMSG_CHUNK, which
  // releases the buffer; the flag only guards against a second reader in the meantime.
  if (relay->recv_buffer_busy) {
    *buf = uv_buf_init(NULL, 0);
    return;
  }
  relay->recv_buffer_busy = 1;
  *buf = uv_buf_init(relay->recv_buffer, RECV_BUFFER_SIZE);
}

static void handle_closed(udp_relay_t* relay);

static void listener_closed(uv_handle_t* handle) {
  udp_listener_t* listener = handle->data;
  udp_relay_t* relay = listener->relay;
  free(listener);
  handle_closed(relay);
}

static void session_timer_closed(uv_handle_t* handle) {
  session_t* session = handle->data;
  udp_relay_t* relay = session->relay;
  free(session);
  handle_closed(relay);
}

static void send_to_node(session_t* session, const char* data, size_t len);

static void on_idle_timer(uv_timer_t* timer) {
  session_t* session = timer->data;
  udp_relay_t* relay = session->relay;
  uint64_t now = uv_now(relay->loop);
  uint64_t idle = now - session->last_activity;
  if (idle < session->idle_timeout_ms) {
    // Traffic moved since the timer was armed: sleep for what is left.
    uv_timer_start(&session->timer, on_idle_timer, session->idle_timeout_ms - idle, 0);
    return;
  }
  session->timer_armed = 0;
  emit(relay, EV_IDLE, session->id, NULL, NULL, NULL);
}

/** Upstream handles carry this as data (relay first, for alloc_shared). */
typedef struct upstream_ref_s {
  udp_relay_t* relay;
  session_t* session;
} upstream_ref_t;

static void upstream_closed(uv_handle_t* handle) {
  upstream_ref_t* ref = handle->data;
  udp_relay_t* relay = ref->relay;
  free(ref);
  free(handle);
  handle_closed(relay);
}

static void close_upstream(session_t* session) {
  if (!session->upstream) return;
  uv_udp_t* handle = session->upstream;
  session->upstream = NULL;
  ((upstream_ref_t*)handle->data)->session = NULL;
  uv_udp_recv_stop(handle);
  uv_close((uv_handle_t*)handle, upstream_closed);
}

static void report_upstream_error(session_t* session, int uv_error) {
  udp_relay_t* relay = session->relay;
  close_upstream(session);
  napi_env env = relay->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value code, retryable;
  napi_create_string_utf8(env, uv_err_name(uv_error), NAPI_AUTO_LENGTH, &code);
  napi_get_boolean(env, !session->replied && !session->overflow, &retryable);
  emit(relay, EV_UPSTREAM_ERROR, session->id, code, retryable, NULL);
  napi_close_handle_scope(env, scope);
}

static void on_upstream_read(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf,
                             const struct sockaddr* addr, unsigned flags) {
  upstream_ref_t* ref = handle->data;
  udp_relay_t* relay = ref->relay;
  if (!(flags & UV_UDP_MMSG_CHUNK)) relay->recv_buffer_busy = 0;
  session_t* session = ref->session;
  if (!session) return;
  if (nread < 0) {
    report_upstream_error(session, (int)nread);
    return;
  }
  if (nread == 0 && addr == NULL) return;  // nothing (more) to read
  session->bytes_to_client += (double)nread;
  session->last_activity = uv_now(relay->loop);
  if (!session->replied) {
    session->replied = 1;
    free_queue(session);
    emit(relay, EV_FIRST_REPLY, session->id, NULL, NULL, NULL);
    if (ref->session != session) return;  // closed by the handler
  }
  uv_buf_t out = uv_buf_init(buf->base, (unsigned)nread);
  uv_udp_try_send(&session->listener->handle, &out, 1, (const struct sockaddr*)&session->client);
}

static void send_to_node(session_t* session, const char* data, size_t len) {
  uv_buf_t out = uv_buf_init((char*)data, (unsigned)len);
  int result = uv_udp_try_send(session->upstream, &out, 1, NULL);
  // ECONNREFUSED here is an ICMP unreachable left from an earlier datagram.
  if (result == UV_ECONNREFUSED) report_upstream_error(session, result);
}

static void on_listener_read(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf,
                             const struct sockaddr* addr, unsigned flags) {
  udp_listener_t* listener = handle->data;
  udp_relay_t* relay = listener->relay;
  if (!(flags & UV_UDP_MMSG_CHUNK)) relay->recv_buffer_busy = 0;
  if (nread < 0 || addr == NULL) return;  // a read error on an unconnected socket: skip it
  uint32_t hash = hash_client(addr);
  session_t* session = find_client(listener, addr, hash);
  if (!session) {
    if (!listener->accepting || listener->closed) return;  // draining: like a closed port
    session = calloc(1, sizeof(session_t));
    if (!session) return;
    session->id = ++relay->next_session_id;
    if (session->id == 0) session->id = ++relay->next_session_id;
    session->relay = relay;
    session->listener = listener;
    memcpy(&session->client, addr, sockaddr_size(addr->sa_family));
    session->hash = hash;
    if (index_insert(&listener->by_client, session)) {
      free(session);
      return;
    }
    if (index_insert(&relay->by_id, session)) {
      index_remove(&listener->by_client, session);
      free(session);
      return;
    }
    uv_timer_init(relay->loop, &session->timer);
    relay->open_handles++;
    session->timer.data = session;
    session->bytes_from_client = (double)nread;
    session->last_activity = uv_now(relay->loop);
    if (!enqueue(session, buf->base, (size_t)nread)) session->overflow = 1;
    char name[INET6_ADDRSTRLEN] = "";
    int port;
    if (addr->sa_family == AF_INET) {
      uv_ip4_name((const struct sockaddr_in*)addr, name, sizeof name);
      port = ntohs(((const struct sockaddr_in*)addr)->sin_port);
    } else {
      uv_ip6_name((const struct sockaddr_in6*)addr, name, sizeof name);
      port = ntohs(((const struct sockaddr_in6*)addr)->sin6_port);
    }
    napi_env env = relay->env;
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    napi_value listener_id, address, port_value;
    napi_create_uint32(env, listener->id, &listener_id);
    napi_create_string_latin1(env, name, NAPI_AUTO_LENGTH, &address);
    napi_create_int32(env, port, &port_value);
    emit(relay, EV_NEW_SESSION, session->id, listener_id, address, port_value);
    napi_close_handle_scope(env, scope);
    return;
  }
  session->bytes_from_client += (double)nread;
  session->last_activity = uv_now(relay->loop);
  if (!session->replied && !session->overflow) {
    int kept = enqueue(session, buf->base, (size_t)nread);
    if (!kept) {
      session->overflow = 1;
      // Not kept and no node yet: dropped, as UDP senders must expect (the JS path does too).
    }
  }
  if (session->upstream) send_to_node(session, buf->base, (size_t)nread);
}

// ------------------------------------------------------------------ N-API helpers

/** Throws an Error shaped like Node's system errors: code, errno (libuv, negative), syscall. */
static napi_value throw_uv(napi_env env, int error, const char* syscall) {
  char text[256];
  snprintf(text, sizeof text, "%s %s", syscall, uv_err_name(error));
  napi_value code, message, errno_value, syscall_value, exception;
  napi_create_string_utf8(env, uv_err_name(error), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &exception);
  napi_create_int32(env, error, &errno_value);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value);
  napi_set_named_property(env, exception, "errno", errno_value);
  napi_set_named_property(env, exception, "syscall", syscall_value);
  napi_throw(env, exception);
  return NULL;
}

static udp_relay_t* relay_of(napi_env env, napi_callback_info info, size_t* argc,
                             napi_value* argv) {
  void* data;
  napi_get_cb_info(env, info, argc, argv, NULL, &data);
  udp_relay_t* relay = data;
  if (relay->shut_down) {
    napi_throw_error(env, "ERR_FASTPATH_CLOSED", "the UDP relay was shut down");
    return NULL;
  }
  return relay;
}

static int get_string(napi_env env, napi_value value, char* out, size_t size) {
  size_t len;
  return napi_get_value_string_utf8(env, value, out, size, &len) == napi_ok;
}

static int parse_address(const char* host, int port, struct sockaddr_storage* out) {
  memset(out, 0, sizeof *out);
  if (strchr(host, ':')) return uv_ip6_addr(host, port, (struct sockaddr_in6*)out);
  return uv_ip4_addr(host, port, (struct sockaddr_in*)out);
}

// listen(host, port, reusePort, ipv6Only) → [listenerId, boundPort, boundAddress]
static napi_value js_listen(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  udp_relay_t* relay = relay_of(env, info, &argc, argv);
  if (!relay) return NULL;
  char host[INET6_ADDRSTRLEN + 1];
  int32_t port;
  bool reuse_port = false, ipv6_only = false;
  if (argc < 4 || !get_string(env, argv[0], host, sizeof host) ||
      napi_get_value_int32(env, argv[1], &port) != napi_ok ||
      napi_get_value_bool(env, argv[2], &reuse_port) != napi_ok ||
      napi_get_value_bool(env, argv[3], &ipv6_only) != napi_ok) {
    napi_throw_type_error(env, NULL, "listen(host, port, reusePort, ipv6Only)");
    return NULL;
  }
  struct sockaddr_storage addr;
  int error = parse_address(host, port, &addr);
  if (error) return throw_uv(env, error, "bind");
  int fd = socket(addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_uv(env, uv_translate_sys_error(errno), "socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (addr.ss_family == AF_INET6) {
    int v6only = ipv6_only ? 1 : 0;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  }
  if (bind(fd, (struct sockaddr*)&addr, sockaddr_size(addr.ss_family)) != 0) {
    int bind_error = uv_translate_sys_error(errno);
    close(fd);
    return throw_uv(env, bind_error, "bind");
  }
  udp_listener_t* listener = calloc(1, sizeof(udp_listener_t));
  if (!listener) {
    close(fd);
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  // recvmmsg: up to 16 datagrams per system call on the busiest socket.
  uv_udp_init_ex(relay->loop, &listener->handle, AF_UNSPEC | UV_UDP_RECVMMSG);
  relay->open_handles++;
  listener->relay = relay;
  listener->handle.data = listener;
  error = uv_udp_open(&listener->handle, fd);
  if (error) {
    close(fd);
    uv_close((uv_handle_t*)&listener->handle, listener_closed);
    return throw_uv(env, error, "open");
  }
  error = uv_udp_recv_start(&listener->handle, alloc_shared, on_listener_read);
  if (error) {
    uv_close((uv_handle_t*)&listener->handle, listener_closed);
    return throw_uv(env, error, "recv");
  }
  listener->id = ++relay->next_listener_id;
  listener->accepting = 1;
  struct sockaddr_storage bound;
  int bound_len = sizeof bound;
  uv_udp_getsockname(&listener->handle, (struct sockaddr*)&bound, &bound_len);
  char bound_name[INET6_ADDRSTRLEN] = "";
  int bound_port;
  if (bound.ss_family == AF_INET) {
    uv_ip4_name((struct sockaddr_in*)&bound, bound_name, sizeof bound_name);
    bound_port = ntohs(((struct sockaddr_in*)&bound)->sin_port);
  } else {
    uv_ip6_name((struct sockaddr_in6*)&bound, bound_name, sizeof bound_name);
    bound_port = ntohs(((struct sockaddr_in6*)&bound)->sin6_port);
  }
  listener->next = relay->listeners;
  relay->listeners = listener;
  napi_value result, id_value, port_value, address_value;
  napi_create_array_with_length(env, 3, &result);
  napi_create_uint32(env, listener->id, &id_value);
  napi_create_int32(env, bound_port, &port_value);
  napi_create_string_latin1(env, bound_name, NAPI_AUTO_LENGTH, &address_value);
  napi_set_element(env, result, 0, id_value);
  napi_set_element(env, result, 1, port_value);
  napi_set_element(env, result, 2, address_value);
  return result;
}

static udp_listener_t* find_listener(udp_relay_t* relay, uint32_t id) {
  udp_listener_t* listener = relay->listeners;
  while (listener && listener->id != id) listener = listener->next;
  return listener;
}

static udp_listener_t* listener_arg(napi_env env, udp_relay_t* relay, napi_value value) {
  uint32_t id;
  if (napi_get_value_uint32(env, value, &id) != napi_ok) return NULL;
  return find_listener(relay, id);
}

static session_t* session_arg(napi_env env, udp_relay_t* relay, napi_value value) {
  uint32_t id;
  if (napi_get_value_uint32(env, value, &id) != napi_ok) return NULL;
  return find_session(relay, id);
}

// connect(sessionId, host, port, idleTimeoutMs) → undefined, or the error code of a node that
// cannot even be connected (EINVAL, ENETUNREACH…): the caller treats it as a failed node.
// Everything kept so far is sent at once (a replay when this is a retry).
static napi_value js_connect(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], result;
  udp_relay_t* relay = relay_of(env, info, &argc, argv);
  if (!relay) return NULL;
  napi_get_undefined(env, &result);
  session_t* session = session_arg(env, relay, argv[0]);
  char host[INET6_ADDRSTRLEN + 1];
  int32_t port;
  double idle_ms;
  if (!session || !get_string(env, argv[1], host, sizeof host) ||
      napi_get_value_int32(env, argv[2], &port) != napi_ok ||
      napi_get_value_double(env, argv[3], &idle_ms) != napi_ok) {
    napi_throw_type_error(env, NULL, "connect(sessionId, host, port, idleTimeoutMs)");
    return NULL;
  }
  close_upstream(session);
  struct sockaddr_storage addr;
  int error = parse_address(host, port, &addr);
  uv_udp_t* handle = NULL;
  upstream_ref_t* ref = NULL;
  if (!error) {
    handle = malloc(sizeof(uv_udp_t));
    ref = malloc(sizeof(upstream_ref_t));
    if (!handle || !ref) error = UV_ENOMEM;
  }
  if (!error) {
    ref->relay = relay;
    ref->session = session;
    uv_udp_init(relay->loop, handle);
    relay->open_handles++;
    handle->data = ref;
    // A connected UDP socket receives only from the node and is told about ICMP unreachables.
    error = uv_udp_connect(handle, (const struct sockaddr*)&addr);
    if (!error) error = uv_udp_recv_start(handle, alloc_shared, on_upstream_read);
    if (error) {
      ref->session = NULL;
      uv_close((uv_handle_t*)handle, upstream_closed);
    }
  } else {
    free(handle);
    free(ref);
  }
  if (error) {
    napi_create_string_utf8(env, uv_err_name(error), NAPI_AUTO_LENGTH, &result);
    return result;
  }
  session->upstream = handle;
  session->idle_timeout_ms = idle_ms > 0 ? (uint64_t)idle_ms : 1;
  session->last_activity = uv_now(relay->loop);
  if (!session->timer_armed) {
    session->timer_armed = 1;
    uv_timer_start(&session->timer, on_idle_timer, session->idle_timeout_ms, 0);
  }
  // A send can report a failed node, whose handler may retry (a new upstream that replays the
  // queue itself) or close the session (freeing the queue): stop as soon as either happened.
  queued_t* item = session->queue_head;
  while (item && session->upstream == handle) {
    queued_t* next = item->next;
    send_to_node(session, item->data, item->len);
    item = next;
  }
  return result;
}

static void write_counters(napi_env env, session_t* session, napi_value* out) {
  napi_value from, to, queued;
  napi_create_array_with_length(env, 3, out);
  napi_create_double(env, session->bytes_from_client, &from);
  napi_create_double(env, session->bytes_to_client, &to);
  napi_create_double(env, session->upstream ? 0 : (double)session->queue_bytes, &queued);
  napi_set_element(env, *out, 0, from);
  napi_set_element(env, *out, 1, to);
  napi_set_element(env, *out, 2, queued);
}

static void release_session(session_t* session) {
  close_upstream(session);
  free_queue(session);
  unlink_session(session);
  uv_timer_stop(&session->timer);
  uv_close((uv_handle_t*)&session->timer, session_timer_closed);
}

// close(sessionId) → [bytesFromClient, bytesToClient, queuedBytes], or undefined if unknown.
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  udp_relay_t* relay = relay_of(env, info, &argc, argv);
  if (!relay) return NULL;
  napi_get_undefined(env, &result);
  session_t* session = session_arg(env, relay, argv[0]);
  if (!session) return result;
  write_counters(env, session, &result);
  release_session(session);
  return result;
}

// counters(sessionId) → [bytesFromClient, bytesToClient, queuedBytes], or undefined.
static napi_value js_counters(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  udp_relay_t* relay = relay_of(env, info, &argc, argv);
  if (!relay) return NULL;
  napi_get_undefined(env, &result);
  session_t* session = session_arg(env, relay, argv[0]);
  if (session) write_counters(env, session, &result);
  return result;
}

static void close_listener(udp_listener_t* listener) {
  udp_relay_t* relay = listener->relay;
  listener->closed = 1;
  for (uint32_t i = 0; i < listener->by_client.bucket_count; i++) {
    while (listener->by_client.buckets[i]) release_session(listener->by_client.buckets[i]);
  }
  udp_listener_t** link = &relay->listeners;
  while (*link && *link != listener) link = &(*link)->next;
  if (*link) *link = listener->next;
  index_free(&listener->by_client);
  uv_udp_recv_stop(&listener->handle);
  uv_close((uv_handle_t*)&listener->handle, listener_closed);
}

// stopAccepting(listenerId): datagrams of new clients are dropped from now on (draining).
static napi_value js_stop_accepting(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  udp_relay_t* relay = relay_of(env, info, &argc, argv);
  if (!relay) return NULL;
  udp_listener_t* listener = listener_arg(env, relay, argv[0]);
  if (listener) listener->accepting = 0;
  return NULL;
}

// closeListener(listenerId): closes the socket; sessions still open on it are dropped silently
// (JavaScript closes them first when it wants their counters).
static napi_value js_close_listener(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  udp_relay_t* relay = relay_of(env, info, &argc, argv);
  if (!relay) return NULL;
  udp_listener_t* listener = listener_arg(env, relay, argv[0]);
  if (listener) close_listener(listener);
  return NULL;
}

/** Closes every listener and session; their handles finish closing on later loop turns. */
static void relay_shutdown(udp_relay_t* relay) {
  if (relay->shut_down) return;
  relay->shut_down = 1;
  while (relay->listeners) close_listener(relay->listeners);
  free(relay->recv_buffer);
  relay->recv_buffer = NULL;
  if (relay->open_handles == 0) handle_closed(relay);
}

static void maybe_free(udp_relay_t* relay) {
  if (relay->shut_down && relay->open_handles == 0 && relay->on_event == NULL && !relay->js_alive)
    free(relay);
}

/** Every handle closed after shutdown: drop the references, let the environment's teardown go. */
static void handle_closed(udp_relay_t* relay) {
  if (relay->open_handles > 0) relay->open_handles--;
  if (!relay->shut_down || relay->open_handles > 0 || relay->on_event == NULL) return;
  index_free(&relay->by_id);
  napi_delete_reference(relay->env, relay->on_event);
  relay->on_event = NULL;
  napi_delete_reference(relay->env, relay->resource);
  napi_async_destroy(relay->env, relay->async_context);
  if (relay->cleanup != NULL) {
    napi_remove_async_cleanup_hook(relay->cleanup);
    relay->cleanup = NULL;
  }
  maybe_free(relay);
}

static void cleanup_hook(napi_async_cleanup_hook_handle handle, void* arg) {
  udp_relay_t* relay = arg;
  relay->cleanup = handle;
  if (relay->shut_down) {
    // Shut down earlier, still waiting for close callbacks: they finish the teardown.
    if (relay->open_handles == 0) handle_closed(relay);
    return;
  }
  relay_shutdown(relay);
}

// shutdown(): closes every listener and session; the relay cannot be used afterwards.
static napi_value js_shutdown(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  void* data;
  napi_get_cb_info(env, info, &argc, NULL, NULL, &data);
  relay_shutdown(data);
  return NULL;
}

static void relay_finalize(napi_env env, void* data, void* hint) {
  udp_relay_t* relay = data;
  relay->js_alive = 0;
  // Nobody can call shutdown() any more: close what is still open.
  relay_shutdown(relay);
  maybe_free(relay);
}

// createUdpRelay(onEvent) → { listen, connect, close, counters, stopAccepting, closeListener,
// shutdown }. onEvent(type, sessionId, a, b, c):
//   1 new session: a = listenerId, b = client address, c = client port
//   2 first reply from the node
//   3 node failed: a = error code (ECONNREFUSED…), b = whether a retry can replay everything
//   4 idle: nothing moved either way for the idle timeout
napi_value strait_create_udp_relay(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_valuetype type;
  if (argc < 1 || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, NULL, "createUdpRelay(onEvent)");
    return NULL;
  }
  udp_relay_t* relay = calloc(1, sizeof(udp_relay_t));
  if (!relay) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  relay->env = env;
  relay->by_id.by_id = 1;
  relay->js_alive = 1;
  relay->recv_buffer = malloc(RECV_BUFFER_SIZE);
  if (!relay->recv_buffer) {
    free(relay);
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  napi_get_uv_event_loop(env, &relay->loop);
  napi_create_reference(env, argv[0], 1, &relay->on_event);
  napi_value resource, resource_name;
  napi_create_object(env, &resource);
  napi_create_reference(env, resource, 1, &relay->resource);
  napi_create_string_utf8(env, "STRAIT_UDP_RELAY", NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, resource, resource_name, &relay->async_context);
  napi_add_async_cleanup_hook(env, cleanup_hook, relay, &relay->cleanup);
  napi_value object;
  napi_create_object(env, &object);
  napi_property_descriptor methods[] = {
      {"listen", NULL, js_listen, NULL, NULL, NULL, napi_default, relay},
      {"connect", NULL, js_connect, NULL, NULL, NULL, napi_default, relay},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, relay},
      {"counters", NULL, js_counters, NULL, NULL, NULL, napi_default, relay},
      {"stopAccepting", NULL, js_stop_accepting, NULL, NULL, NULL, napi_default, relay},
      {"closeListener", NULL, js_close_listener, NULL, NULL, NULL, napi_default, relay},
      {"shutdown", NULL, js_shutdown, NULL, NULL, NULL, napi_default, relay},
  };
  napi_define_properties(env, object, sizeof methods / sizeof methods[0], methods);
  napi_wrap(env, object, relay, relay_finalize, NULL, NULL);
  return object;
}
