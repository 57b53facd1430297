/*
 * Strait fast path: plain TCP accept, upstream connect and relay (recv/send or splice(2)) in C,
 * on Node's own event loop thread (no threads of its own): the loop sleeps on its own epoll set,
 * which holds libuv's (owner mode), or its set is polled by libuv through a uv_poll_t.
 *
 * core.c does the socket work and queues events; binding.c exposes it through Node-API and
 * delivers the queued events to one JavaScript callback. Every policy decision (routing,
 * balancing, retries, accounting) stays in JavaScript.
 */
#ifndef STRAIT_FASTPATH_H
#define STRAIT_FASTPATH_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

struct ssl_st;
struct ssl_ctx_st;

/* Event types handed to JavaScript (libs/fastpath/src/index.ts mirrors them). */
enum fp_event_type {
  FP_EV_ACCEPT = 1,         /* connId, listenerId, remoteAddr, remotePort, localAddr|undefined */
  FP_EV_CONNECTED = 2,      /* connId, connectMicros */
  FP_EV_CONNECT_FAILED = 3, /* connId, reason (fp_connect_failure), -errno */
  FP_EV_CLOSED = 4,         /* connId, bytesFromClient, bytesToClient, how (fp_close_how) */
  FP_EV_LISTENER_ERROR = 5, /* listenerId, -errno */
  /* TLS listeners (tls.c): */
  FP_EV_CLIENT_HELLO = 6,   /* connId; the ClientHello's bytes (conn->tls_bytes), still unread */
  FP_EV_TLS_ESTABLISHED = 7, /* connId, protocol version (0x0304...), resumed */
  FP_EV_TLS_FAILED = 8      /* connId, OpenSSL reason, verify result, errno; text (tls_bytes) */
};

/*
 * Where a TLS listener's connection is (FP_TLS_NONE on plain listeners). The client is in the
 * epoll set from accept on, and one deadline (the listener's handshake timeout) runs from accept
 * until the handshake is done.
 */
enum fp_tls_stage {
  FP_TLS_NONE = 0,
  FP_TLS_HELLO = 1,       /* waiting for the whole ClientHello (peeked, never read) */
  FP_TLS_SELECTING = 2,   /* ClientHello delivered: JavaScript picks a context or takes the socket */
  FP_TLS_HANDSHAKE = 3,   /* OpenSSL handshake in progress */
  FP_TLS_ESTABLISHED = 4, /* records are relayed through SSL_read/SSL_write */
  FP_TLS_QUEUED = 5       /* given a context; its handshake waits for its turn (fp_tls_accept) */
};

enum fp_connect_failure { FP_FAIL_REFUSED = 1, FP_FAIL_TIMEOUT = 2, FP_FAIL_ERROR = 3 };

enum fp_close_how {
  FP_CLOSE_NORMAL = 0,  /* both sides ended with FIN */
  FP_CLOSE_IDLE = 1,    /* nothing moved either way for the idle timeout */
  FP_CLOSE_RESET = 2,   /* one side reset; the reset was passed on to the other */
  FP_CLOSE_ERROR = 3,   /* another socket error; both sides closed */
  FP_CLOSE_ABORTED = 4  /* closed by fp_close() (JavaScript) */
};

enum fp_conn_state {
  FP_CS_ACCEPTED = 0,   /* client accepted, no upstream (or the last attempt failed) */
  FP_CS_CONNECTING = 1, /* upstream connect in flight */
  FP_CS_CONNECTED = 2,  /* upstream connected, relay not started */
  FP_CS_RELAYING = 3,
  FP_CS_DEAD = 4        /* closed or detached; freed once no queued event refers to it */
};

/* Connection ids are `gen * 2^22 + slot`: a slot is reused only with a new generation. */
#define FP_SLOT_BITS 22
#define FP_MAX_SLOTS (1u << FP_SLOT_BITS)
#define FP_NO_HEAP UINT32_MAX

/* Where bytes in flight wait: a pipe (splice mode) or a buffer (copy mode). */
typedef struct fp_buf {
  int rfd, wfd;
  uint8_t *data; /* copy mode: the buffer, bytes at [head, head + in_flight) */
  uint32_t head;
  struct fp_buf *next;
} fp_buf;

/* One relay direction: bytes read from `src` wait in `buf` until written to `dst`. */
typedef struct {
  fp_buf *buf;       /* held only while bytes are in flight, else back in the pool */
  uint32_t in_flight; /* bytes waiting in buf */
  uint64_t bytes;     /* bytes read from the source */
  uint8_t eof;        /* the source sent FIN */
  uint8_t fin_sent;   /* FIN passed on to the destination (shutdown or close) */
} fp_dir;

typedef struct fp_conn {
  uint32_t slot, gen;
  int cfd, ufd;
  uint8_t state;
  /* Edge-triggered readiness: set by epoll events, cleared by EAGAIN or a short read. */
  uint8_t c_rd, c_wr, u_rd, u_wr;
  /* The peer's FIN was reported (EPOLLRDHUP): a short read reaches the end. Once an error was
   * reported (EPOLLERR) reads go on until recv says EAGAIN, 0 or the error, as they used to. */
  uint8_t c_fin, u_fin, c_err, u_err;
  /* The client is in the epoll set (from the start of relaying), and with EPOLLOUT (from its
   * first EAGAIN on send: a client that is always writable never wakes the loop for it). */
  uint8_t c_watched, c_out;
  uint8_t has_local;
  uint8_t in_pending;
  uint8_t tls_stage;        /* enum fp_tls_stage */
  struct ssl_st *ssl;       /* the client's TLS session, from the handshake on */
  uint8_t *tls_bytes;       /* what the next TLS event carries: the ClientHello, or a failure text */
  uint32_t tls_bytes_len;
  uint32_t hello_needed;    /* FP_TLS_HELLO: bytes the socket must hold before the next peek */
  int32_t auto_relay_idle; /* >= 0: start relaying with this idle timeout once connected */
  fp_dir c2u, u2c;
  uint32_t idle_ms;
  uint32_t listener_id;
  uint64_t last_active;      /* uv_now() of the last byte moved */
  uint64_t connect_deadline; /* uv_now() based */
  uint64_t connect_start_ns;
  uint32_t heap_idx;
  uint64_t heap_key; /* never later than the real deadline (lazy idle re-keying) */
  struct sockaddr_in6 peer; /* sockaddr_in or sockaddr_in6 */
  struct sockaddr_in6 local;
  struct fp_conn *next_dead;
} fp_conn;

/*
 * A shared listener's wake-up, for a loop that is not its thread's owner (an owner loop polls the
 * socket in its own set): libuv's own epoll set holds the listening socket with
 * EPOLLEXCLUSIVE, tagged with the descriptor of this never-signalled eventfd, so libuv calls this
 * handle's callback when the socket is readable (see listener_watch). Allocated apart from the
 * listener array, which moves when it grows; freed by its close callback.
 */
typedef struct {
  uv_poll_t poll;
  int efd;
  struct fp_loop *loop;
  uint32_t listener_id;
} fp_wake;

typedef struct {
  uint32_t id;
  int fd;
  uint8_t wildcard;
  uint8_t paused; /* accept hit EMFILE/ENFILE: not polled until resume_at */
  uint64_t resume_at;
  uint8_t shared; /* a socket shared with other processes (adopted with `shared`) */
  fp_wake *wake;  /* a shared socket's wake-up when the loop is not the owner; else NULL */
  uint32_t tls_timeout_ms; /* > 0: connections start with a TLS handshake within this time */
} fp_listener;

typedef struct {
  uint8_t type;
  uint32_t slot, gen; /* the connection, or slot = listener id */
  double a, b, c;
} fp_event;

typedef struct fp_loop fp_loop;

struct fp_loop {
  uv_loop_t *uv;
  uv_poll_t poll;
  uv_timer_t timer;
  uv_idle_t idle;
  /* Owner mode (see fp_loop_init): the loop sleeps in this prepare handle, on its own set. */
  uv_prepare_t block;
  uv_idle_t spin;
  uint8_t owner;
  int epfd;
  uint8_t shut;
  uint8_t flushing;
  uint8_t idle_active;
  uint8_t poll_ref;
  int open_handles;

  /* connections */
  fp_conn **slots;
  uint32_t *gens;
  uint32_t nslots, cap_slots;
  uint32_t *free_slots;
  uint32_t nfree_slots;
  uint32_t nconns;
  fp_conn *dead;
  fp_conn *spare; /* freed structs kept for reuse */
  uint32_t nspare;

  /* deadlines */
  fp_conn **heap;
  uint32_t heap_size, heap_cap;
  uint64_t timer_due; /* UINT64_MAX when not armed */

  /* listeners */
  fp_listener *listeners;
  uint32_t nlisteners, cap_listeners;
  uint32_t next_listener_id;

  /* queued events and connections with relay work left over (fairness budget) */
  fp_event *q;
  uint32_t q_head, q_tail, q_cap;
  uint64_t *pending;
  uint32_t npending, cap_pending;
  /* connections whose TLS handshake JavaScript accepted, waiting for their turn from
   * handshakes_head on (the queue is reset once every entry had its turn) */
  uint64_t *handshakes;
  uint32_t nhandshakes, cap_handshakes, handshakes_head;
  /* upstream sockets whose handshake ACK waits for the client's first bytes (core.c, hold_ack) */
  uint64_t *held_acks;
  uint32_t nheld, cap_held;

  /* pipes or buffers (copy mode), pooled */
  fp_buf *buf_pool;
  uint32_t bufs_pooled, bufs_in_use, buf_pool_max;
  uint32_t buf_size;
  uint8_t copy_mode; /* recv/send through a buffer instead of splice through a pipe */
  uint8_t *hello_scratch; /* FP_TLS_HELLO_MAX bytes for peeking at ClientHellos, once needed */

  /* statistics */
  uint64_t accepted, relayed_conns, relayed_bytes;

  /* binding.c */
  void (*flush)(fp_loop *loop);
  void (*on_closed)(fp_loop *loop);
  void *binding;
};

/* core.c */
/*
 * The first loop of a thread is its owner: it sleeps on its own epoll set, which holds libuv's,
 * in a prepare handle (for as long as libuv would have slept), serves its sockets there while
 * libuv has nothing to do, and an idle handle keeps libuv's own poll from waiting after it.
 * Sockets then sit in a set nobody else watches, so adding one skips the kernel's nested-set
 * checks (a global mutex and a wake-up path walk per EPOLL_CTL_ADD), and an event wakes the thread
 * through one set instead of two. Any further loop of the thread (tests) has its set polled by
 * libuv through a uv_poll_t, nested as before.
 */
int fp_loop_init(fp_loop *loop, uv_loop_t *uv, uint32_t buf_size, int copy_mode);
/* Closes every socket, pipe and the epoll set, and closes the uv handles; `on_closed` runs once
 * all three handles are closed (the loop memory may be freed then). */
void fp_loop_shutdown(fp_loop *loop, void (*on_closed)(fp_loop *loop));
/* A bound, listening, non-blocking socket that no loop polls yet: the fd, or -errno. */
int fp_listen_socket(const struct sockaddr *addr, socklen_t len, int backlog, int reuse_port,
                     int ipv6_only, const char **syscall);
/* Polls a listening socket from now on and owns it (closed with the listener): the listener id
 * (> 0), or -errno (-EINVAL for a socket that is not a listening TCP socket). `shared`: other
 * processes poll the same socket, and of those waiting only one is woken per connection
 * (EPOLLEXCLUSIVE). */
int fp_adopt_listener(fp_loop *loop, int fd, int shared, int *port_out, char *addr_out,
                      size_t addr_len, const char **syscall);
/* fp_listen_socket + fp_adopt_listener. Returns the listener id (> 0), or -errno; `syscall` names
 * the failing call. */
int fp_listen(fp_loop *loop, const struct sockaddr *addr, socklen_t len, int backlog,
              int reuse_port, int ipv6_only, int *port_out, char *addr_out, size_t addr_len,
              const char **syscall);
int fp_close_listener(fp_loop *loop, uint32_t id);
/* Connections of this listener start with a TLS handshake (ClientHello event, fp_tls_accept)
 * that must be done within `timeout_ms`. Copy mode only: -EINVAL in splice mode. */
int fp_listener_tls(fp_loop *loop, uint32_t id, uint32_t timeout_ms);
/* Answers a ClientHello event: the handshake goes on with `ctx` (an SSL_CTX from tls.c). */
int fp_tls_accept(fp_loop *loop, fp_conn *conn, struct ssl_ctx_st *ctx);
fp_conn *fp_lookup(fp_loop *loop, double id);
double fp_conn_id(const fp_conn *conn);
/* 0, or -errno for an unusable address (the connect outcome itself always comes as an event). */
int fp_connect(fp_loop *loop, fp_conn *conn, const struct sockaddr *addr, socklen_t len,
               uint32_t timeout_ms, int32_t relay_idle_ms);
int fp_relay(fp_loop *loop, fp_conn *conn, uint32_t idle_ms);
void fp_close(fp_loop *loop, fp_conn *conn);
int fp_detach(fp_loop *loop, fp_conn *conn);
/* After any entry from JavaScript or libuv: deliver events, free what is dead, re-arm the timer. */
void fp_settle(fp_loop *loop);
/* After a call from JavaScript: re-arm the timer, and have queued events delivered soon (never
 * from inside the call). */
void fp_after_api(fp_loop *loop);
int fp_format_addr(const struct sockaddr *addr, char *buf, size_t len, int *port);

#endif
