/*
 * The socket work of the fast path: accept, upstream connect, relay (recv/send through a pooled
 * buffer, or splice(2) through a pooled pipe), half-close, reset passthrough, connect and idle
 * deadlines, close. No JavaScript is called from here: outcomes are
 * queued as events (fp_event) and delivered by binding.c once the C side is consistent again
 * (fp_settle), so JavaScript never runs in the middle of a state change and may call back into
 * any fp_* function while it handles an event.
 *
 * Readiness is edge-triggered: epoll events set the per-socket readable/writable flags, EAGAIN
 * clears them, and a direction is pumped whenever a flag it waits for is set again.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "fastpath.h"
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * The per-connection socket calls without glibc's cancellation-point wrappers: recv, send,
 * connect, accept4, close and epoll_wait are pthread cancellation points, so glibc brackets each
 * with an atomic enable/disable of asynchronous cancellation (measured: a quarter of the user time
 * the relay spends in libc). No thread ever cancels Node's main thread.
 */
#define fp_recv(fd, buf, len, flags) syscall(SYS_recvfrom, (fd), (buf), (len), (flags), NULL, NULL)
#define fp_send(fd, buf, len, flags) syscall(SYS_sendto, (fd), (buf), (len), (flags), NULL, 0)
#define fp_sys_connect(fd, addr, len) ((int)syscall(SYS_connect, (fd), (addr), (len)))
#define fp_accept4(fd, addr, len, flags) ((int)syscall(SYS_accept4, (fd), (addr), (len), (flags)))
#define fp_sys_close(fd) ((void)syscall(SYS_close, (fd)))
#define fp_epoll_wait(epfd, evs, n, timeout) \
  ((int)syscall(SYS_epoll_pwait, (epfd), (evs), (n), (timeout), NULL, (size_t)8))

#define EVENTS_PER_WAIT 256
/* epoll_wait rounds per wake-up (up to 8 x 256 events) before the rest of the loop gets a turn. */
#define MAX_WAIT_ROUNDS 8
/* TLS handshakes started between two looks at the sockets (see fp_tls_accept). Measured with
 * wrk -c50 on one core: 1 or 2 per turn kept the rate and gave the lowest latency; 4 and 8 gave
 * established connections 1.4 and 2x the p50. */
#define HANDSHAKES_PER_TURN 1
/* Wake-ups an owner loop serves in a row while libuv has nothing to do (on_block). */
#define OWNER_TURNS 64
/* accept4 calls per listener readiness (the listener is level-triggered, so the rest waits). */
#define ACCEPTS_PER_EVENT 128
/* Bytes one direction may move per pump before other connections get their turn. */
#define PUMP_BUDGET (4u << 20)
#define SPARE_CONNS_MAX 1024
#define PIPE_POOL_MAX 64
/* After accept failed for lack of descriptors or memory, the listener rests this long. */
#define ACCEPT_PAUSE_MS 100
#define MAX_GEN (1u << 31)

#define KIND_LISTENER 0u
#define KIND_CLIENT 1u
#define KIND_UPSTREAM 2u
/* libuv's own epoll set, inside the loop's set in owner mode: libuv polls it itself. */
#define TAG_LIBUV UINT64_MAX

static void on_poll(uv_poll_t *handle, int status, int events);
/* The loop of this thread (one libuv loop per thread in Node) that sleeps on its own set. */
static __thread fp_loop *loop_owner;
static void on_timer(uv_timer_t *handle);
static void on_idle(uv_idle_t *handle);
static void finish(fp_loop *l, fp_conn *c, int how);
static void relay_pump(fp_loop *l, fp_conn *c);
static void tls_client_ready(fp_loop *l, fp_conn *c);
static int watch_client(fp_loop *l, fp_conn *c, int op);

static void *xrealloc(void *ptr, size_t size) {
  void *next = realloc(ptr, size);
  if (next == NULL) abort(); /* as Node does on allocation failure */
  return next;
}

static inline uint64_t now_ms(fp_loop *l) { return uv_now(l->uv); }

static inline uint64_t conn_tag(const fp_conn *c, uint32_t kind) {
  return ((uint64_t)c->gen << 32) | ((uint64_t)c->slot << 2) | kind;
}

double fp_conn_id(const fp_conn *c) { return (double)c->gen * (double)FP_MAX_SLOTS + c->slot; }

fp_conn *fp_lookup(fp_loop *l, double id) {
  if (!(id >= 0) || id >= 9007199254740992.0) return NULL;
  uint64_t value = (uint64_t)id;
  if ((double)value != id) return NULL;
  uint32_t slot = (uint32_t)(value & (FP_MAX_SLOTS - 1));
  uint64_t gen = value >> FP_SLOT_BITS;
  if (slot >= l->nslots) return NULL;
  fp_conn *c = l->slots[slot];
  if (c == NULL || c->gen != gen || c->state == FP_CS_DEAD) return NULL;
  return c;
}

/* A connection's (gen << 32 | slot) tag, for lists that outlive it (pending work, held ACKs). */
static inline uint64_t slot_tag(const fp_conn *c) { return ((uint64_t)c->gen << 32) | c->slot; }

/* Appends `tag` to a growable list of tags. */
static void push_tag(uint64_t **tags, uint32_t *count, uint32_t *cap, uint64_t tag) {
  if (*count == *cap) {
    *cap = *cap ? *cap * 2 : 64;
    *tags = xrealloc(*tags, *cap * sizeof(uint64_t));
  }
  (*tags)[(*count)++] = tag;
}

/* The live connection a slot_tag() names, or NULL once it ended or its slot was reused. */
static fp_conn *conn_by_tag(fp_loop *l, uint64_t tag) {
  uint32_t slot = (uint32_t)tag;
  if (slot >= l->nslots) return NULL;
  fp_conn *c = l->slots[slot];
  if (c == NULL || c->gen != (uint32_t)(tag >> 32) || c->state == FP_CS_DEAD) return NULL;
  return c;
}

/* ------------------------------------------------------------------ events */

static void enqueue(fp_loop *l, uint8_t type, uint32_t slot, uint32_t gen, double a, double b,
                    double c) {
  if (l->q_tail == l->q_cap) {
    l->q_cap = l->q_cap ? l->q_cap * 2 : 256;
    l->q = xrealloc(l->q, l->q_cap * sizeof(fp_event));
  }
  fp_event *ev = &l->q[l->q_tail++];
  ev->type = type;
  ev->slot = slot;
  ev->gen = gen;
  ev->a = a;
  ev->b = b;
  ev->c = c;
}

static inline void enqueue_conn(fp_loop *l, uint8_t type, fp_conn *c, double a, double b,
                                double d) {
  enqueue(l, type, c->slot, c->gen, a, b, d);
}

/* ------------------------------------------------------------------ deadlines (binary heap) */

static inline void heap_place(fp_loop *l, uint32_t i, fp_conn *c) {
  l->heap[i] = c;
  c->heap_idx = i;
}

static void heap_up(fp_loop *l, uint32_t i) {
  fp_conn *c = l->heap[i];
  while (i > 0) {
    uint32_t parent = (i - 1) / 2;
    if (l->heap[parent]->heap_key <= c->heap_key) break;
    heap_place(l, i, l->heap[parent]);
    i = parent;
  }
  heap_place(l, i, c);
}

static void heap_down(fp_loop *l, uint32_t i) {
  fp_conn *c = l->heap[i];
  uint32_t n = l->heap_size;
  for (;;) {
    uint32_t left = 2 * i + 1;
    if (left >= n) break;
    uint32_t right = left + 1;
    uint32_t min = (right < n && l->heap[right]->heap_key < l->heap[left]->heap_key) ? right : left;
    if (l->heap[min]->heap_key >= c->heap_key) break;
    heap_place(l, i, l->heap[min]);
    i = min;
  }
  heap_place(l, i, c);
}

static void heap_set(fp_loop *l, fp_conn *c, uint64_t key) {
  if (c->heap_idx == FP_NO_HEAP) {
    if (l->heap_size == l->heap_cap) {
      l->heap_cap = l->heap_cap ? l->heap_cap * 2 : 256;
      l->heap = xrealloc(l->heap, l->heap_cap * sizeof(fp_conn *));
    }
    c->heap_key = key;
    heap_place(l, l->heap_size++, c);
    heap_up(l, c->heap_idx);
    return;
  }
  uint64_t old = c->heap_key;
  c->heap_key = key;
  if (key < old) heap_up(l, c->heap_idx);
  else heap_down(l, c->heap_idx);
}

static void heap_remove(fp_loop *l, fp_conn *c) {
  uint32_t i = c->heap_idx;
  if (i == FP_NO_HEAP) return;
  c->heap_idx = FP_NO_HEAP;
  l->heap_size--;
  if (i == l->heap_size) return;
  fp_conn *last = l->heap[l->heap_size];
  heap_place(l, i, last);
  heap_up(l, i);
  heap_down(l, last->heap_idx);
}

static void rearm(fp_loop *l) {
  uint64_t next = l->heap_size ? l->heap[0]->heap_key : UINT64_MAX;
  for (uint32_t i = 0; i < l->nlisteners; i++) {
    if (l->listeners[i].paused && l->listeners[i].resume_at < next) next = l->listeners[i].resume_at;
  }
  if (next == l->timer_due) return;
  if (next == UINT64_MAX) {
    uv_timer_stop(&l->timer);
  } else {
    uint64_t now = now_ms(l);
    uv_timer_start(&l->timer, on_timer, next > now ? next - now : 0, 0);
  }
  l->timer_due = next;
}

/* ------------------------------------------------------------------ connection slots */

static fp_conn *conn_new(fp_loop *l) {
  uint32_t slot;
  if (l->nfree_slots > 0) {
    slot = l->free_slots[--l->nfree_slots];
  } else {
    if (l->nslots == FP_MAX_SLOTS) return NULL;
    if (l->nslots == l->cap_slots) {
      l->cap_slots = l->cap_slots ? l->cap_slots * 2 : 1024;
      l->slots = xrealloc(l->slots, l->cap_slots * sizeof(fp_conn *));
      l->gens = xrealloc(l->gens, l->cap_slots * sizeof(uint32_t));
      l->free_slots = xrealloc(l->free_slots, l->cap_slots * sizeof(uint32_t));
    }
    slot = l->nslots++;
    l->gens[slot] = 1;
    l->slots[slot] = NULL;
  }
  fp_conn *c = l->spare;
  if (c != NULL) {
    l->spare = c->next_dead;
    l->nspare--;
  } else {
    c = malloc(sizeof(fp_conn));
    if (c == NULL) abort();
  }
  memset(c, 0, sizeof(*c));
  c->slot = slot;
  c->gen = l->gens[slot];
  c->cfd = -1;
  c->ufd = -1;
  c->heap_idx = FP_NO_HEAP;
  c->auto_relay_idle = -1;
  l->slots[slot] = c;
  l->nconns++;
  return c;
}

/* The struct stays readable (queued events may still name it) until free_dead(). */
static void drop_tls_bytes(fp_conn *c) {
  free(c->tls_bytes);
  c->tls_bytes = NULL;
  c->tls_bytes_len = 0;
}

/* Between accept on a TLS listener and the end of its handshake (see enum fp_tls_stage). */
static inline int in_tls_handshake(const fp_conn *c) {
  return c->tls_stage != FP_TLS_NONE && c->tls_stage != FP_TLS_ESTABLISHED;
}

static void bury(fp_loop *l, fp_conn *c) {
  c->state = FP_CS_DEAD;
  c->next_dead = l->dead;
  l->dead = c;
  l->nconns--;
}

static void free_dead(fp_loop *l) {
  while (l->dead != NULL) {
    fp_conn *c = l->dead;
    l->dead = c->next_dead;
    drop_tls_bytes(c); /* kept until now: a queued event may have carried them */
    l->slots[c->slot] = NULL;
    if (++l->gens[c->slot] >= MAX_GEN) l->gens[c->slot] = 1;
    l->free_slots[l->nfree_slots++] = c->slot;
    if (l->nspare < SPARE_CONNS_MAX) {
      c->next_dead = l->spare;
      l->spare = c;
      l->nspare++;
    } else {
      free(c);
    }
  }
}

/* ------------------------------------------------------------------ buffers: pipes or memory */

static fp_buf *buf_acquire(fp_loop *l) {
  fp_buf *p = l->buf_pool;
  if (p != NULL) {
    l->buf_pool = p->next;
    l->bufs_pooled--;
  } else if (l->copy_mode) {
    p = malloc(sizeof(fp_buf));
    if (p == NULL) abort();
    void *data = NULL;
    /* Page-aligned: socket copies run measurably slower from an unaligned heap buffer. */
    if (posix_memalign(&data, 4096, l->buf_size) != 0) abort();
    p->data = data;
    p->rfd = p->wfd = -1;
  } else {
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) return NULL;
    /* Best effort: beyond pipe-max-size or the user's pipe quota the pipe keeps what it has. */
    if (l->buf_size != 65536) (void)fcntl(fds[1], F_SETPIPE_SZ, (int)l->buf_size);
    p = malloc(sizeof(fp_buf));
    if (p == NULL) abort();
    p->data = NULL;
    p->rfd = fds[0];
    p->wfd = fds[1];
  }
  p->head = 0;
  p->next = NULL;
  l->bufs_in_use++;
  return p;
}

static void buf_close(fp_buf *p) {
  if (p->data != NULL) {
    free(p->data);
  } else {
    close(p->rfd);
    close(p->wfd);
  }
  free(p);
}

/*
 * Destination <- bytes in flight. Once the source has ended, these are its last bytes and the FIN
 * follows at once (pass_fin, as soon as they are all written): MSG_MORE holds them back until the
 * shutdown or close, so they leave in one segment with the FIN, one packet fewer for both peers
 * (HAProxy does the same). A partial write is not stuck: the ACKs of what the full send buffer
 * holds push the rest out.
 */
static inline ssize_t move_out(fp_loop *l, fp_dir *d, int dst) {
  fp_buf *p = d->buf;
  if (l->copy_mode) {
    int flags = MSG_NOSIGNAL | MSG_DONTWAIT | (d->eof ? MSG_MORE : 0);
    ssize_t n = fp_send(dst, p->data + p->head, d->in_flight, flags);
    if (n > 0) p->head += (uint32_t)n;
    return n;
  }
  unsigned int flags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK | (d->eof ? SPLICE_F_MORE : 0);
  return splice(p->rfd, NULL, dst, NULL, d->in_flight, flags);
}

/* Bytes in flight <- source, at most `room`. */
static inline ssize_t move_in(fp_loop *l, fp_dir *d, int src, uint32_t room) {
  fp_buf *p = d->buf;
  if (l->copy_mode) return fp_recv(src, p->data + p->head + d->in_flight, room, MSG_DONTWAIT);
  return splice(src, NULL, p->wfd, NULL, room, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
}

/* move_out/move_in for the client side of a TLS connection (copy mode: memory buffers). */
static inline ssize_t tls_move_out(fp_conn *c, fp_dir *d) {
  fp_buf *p = d->buf;
  ssize_t n = fp_tls_write(c->ssl, p->data + p->head, d->in_flight);
  if (n > 0) p->head += (uint32_t)n;
  return n;
}

static inline ssize_t tls_move_in(fp_conn *c, fp_dir *d, uint32_t room) {
  fp_buf *p = d->buf;
  return fp_tls_read(c->ssl, p->data + p->head + d->in_flight, room);
}

/* Only an empty buffer goes back to the pool. */
static void buf_release(fp_loop *l, fp_buf *p) {
  l->bufs_in_use--;
  if (l->bufs_pooled < l->buf_pool_max) {
    p->next = l->buf_pool;
    l->buf_pool = p;
    l->bufs_pooled++;
  } else {
    buf_close(p);
  }
}

static void drop_buf(fp_loop *l, fp_dir *d) {
  if (d->buf == NULL) return;
  if (d->in_flight > 0) {
    /* Bytes nobody will read: closing is cheaper than draining. */
    l->bufs_in_use--;
    buf_close(d->buf);
  } else {
    buf_release(l, d->buf);
  }
  d->buf = NULL;
  d->in_flight = 0;
}

/* ------------------------------------------------------------------ helpers */

static int so_error(int fd) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
  return err;
}

static inline void set_nodelay(int fd) {
  int one = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/*
 * Smart connect (HAProxy's tcp-smart-connect): with quick ACKs off before connect(), Linux holds
 * the final ACK of the handshake (tcp_rcv_synsent_state_process) so that it rides on the first
 * bytes relayed to the upstream. One packet fewer per connection, and the upstream's accept finds
 * the request already there instead of waking once for the connection and again for its bytes.
 * When the client has not spoken yet, the ACK is held only briefly (see hold_ack).
 */
static inline void hold_handshake_ack(int fd) {
  int zero = 0;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof(zero));
}

/* Nothing has gone to the upstream yet: neither a byte nor the client's FIN. */
static inline int upstream_sent_nothing(const fp_conn *c) {
  return !c->c2u.fin_sent && c->c2u.bytes == c->c2u.in_flight;
}

static int classify_connect_error(int err) {
  if (err == ECONNREFUSED) return FP_FAIL_REFUSED;
  if (err == ETIMEDOUT) return FP_FAIL_TIMEOUT;
  return FP_FAIL_ERROR;
}

/* Dotted quad, as inet_ntop writes it (which goes through sprintf, per accepted connection). */
static int format_ipv4(const uint8_t *octets, char *buf, size_t len) {
  if (len < INET_ADDRSTRLEN) return -1;
  char *out = buf;
  for (int i = 0; i < 4; i++) {
    unsigned value = octets[i];
    if (value >= 100) *out++ = (char)('0' + value / 100);
    if (value >= 10) *out++ = (char)('0' + value / 10 % 10);
    *out++ = (char)('0' + value % 10);
    if (i < 3) *out++ = '.';
  }
  *out = '\0';
  return (int)(out - buf);
}

int fp_format_addr(const struct sockaddr *addr, char *buf, size_t len, int *port) {
  buf[0] = '\0';
  if (addr->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
    if (port) *port = ntohs(in->sin_port);
    return format_ipv4((const uint8_t *)&in->sin_addr, buf, len);
  } else if (addr->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
    if (port) *port = ntohs(in6->sin6_port);
    /* A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d; routes and logs speak IPv4. */
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      return format_ipv4(&in6->sin6_addr.s6_addr[12], buf, len);
    } else if (inet_ntop(AF_INET6, &in6->sin6_addr, buf, (socklen_t)len) == NULL) {
      return -1;
    }
  } else {
    return -1;
  }
  return (int)strlen(buf);
}

static void update_ref(fp_loop *l) {
  /* Like a net.Server or socket: an open listener or connection keeps the process alive. */
  int want = (l->nconns + l->nlisteners) > 0;
  if (want == l->poll_ref) return;
  uv_handle_t *handle = l->owner ? (uv_handle_t *)&l->block : (uv_handle_t *)&l->poll;
  if (want) uv_ref(handle);
  else uv_unref(handle);
  l->poll_ref = (uint8_t)want;
}

/* TLS handshakes accepted and not yet started (fp_tls_accept). */
static uint32_t queued_handshakes(const fp_loop *l) { return l->nhandshakes - l->handshakes_head; }

static void schedule_idle(fp_loop *l) {
  if (l->idle_active) return;
  uv_idle_start(&l->idle, on_idle);
  l->idle_active = 1;
}

static void after(fp_loop *l) {
  rearm(l);
  update_ref(l);
  if (l->q_head < l->q_tail || l->npending > 0 || queued_handshakes(l) > 0) schedule_idle(l);
}

void fp_settle(fp_loop *l) {
  if (l->shut || l->flushing) return;
  l->flush(l);
  if (l->shut) return;
  if (l->q_head == l->q_tail) free_dead(l);
  after(l);
}

void fp_after_api(fp_loop *l) {
  if (!l->shut) after(l);
}

static void add_pending(fp_loop *l, fp_conn *c) {
  if (c->in_pending) return;
  push_tag(&l->pending, &l->npending, &l->cap_pending, slot_tag(c));
  c->in_pending = 1;
}

/* ------------------------------------------------------------------ listeners */

static fp_listener *find_listener(fp_loop *l, uint32_t id) {
  for (uint32_t i = 0; i < l->nlisteners; i++) {
    if (l->listeners[i].id == id) return &l->listeners[i];
  }
  return NULL;
}

/*
 * Level-triggered: what one readiness does not accept stays signalled. A socket shared with other
 * processes is registered with EPOLLEXCLUSIVE, which wakes one of the processes blocked on it
 * rather than all of them; only a process blocked in epoll_wait on that very set counts as
 * waiting (the kernel does not look through a nested set). An owner loop sleeps on its own set,
 * so the socket goes there. Any other loop's set is nested in libuv's, which is where the process
 * sleeps: the socket goes into libuv's set, tagged with the wake handle's descriptor, which libuv
 * then reports readable. libuv itself never learns of the socket, so it never re-registers it (it
 * could not: EPOLLEXCLUSIVE registrations cannot be modified).
 */
static int listener_watch(fp_loop *l, fp_listener *listener) {
  struct epoll_event ev;
  if (listener->wake != NULL) {
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.u64 = 0;
    ev.data.fd = listener->wake->efd;
    return epoll_ctl(uv_backend_fd(l->uv), EPOLL_CTL_ADD, listener->fd, &ev);
  }
  ev.events = EPOLLIN | (listener->shared ? EPOLLEXCLUSIVE : 0);
  ev.data.u64 = ((uint64_t)listener->id << 32) | KIND_LISTENER;
  return epoll_ctl(l->epfd, EPOLL_CTL_ADD, listener->fd, &ev);
}

/* Removed explicitly: a registration lasts while the socket is open in any process, so closing
 * this process's descriptor of a shared socket would leave it in the set. */
static void listener_unwatch(fp_loop *l, fp_listener *listener) {
  int epfd = listener->wake != NULL ? uv_backend_fd(l->uv) : l->epfd;
  (void)epoll_ctl(epfd, EPOLL_CTL_DEL, listener->fd, NULL);
}

static void on_listener(fp_loop *l, fp_listener *listener);

static void on_wake(uv_poll_t *handle, int status, int events) {
  (void)status;
  (void)events;
  fp_wake *wake = handle->data;
  fp_loop *l = wake->loop;
  fp_listener *listener = find_listener(l, wake->listener_id);
  if (listener != NULL && !listener->paused) on_listener(l, listener);
  fp_settle(l);
}

static void on_wake_closed(uv_handle_t *handle) {
  fp_wake *wake = handle->data;
  close(wake->efd);
  free(wake);
}

static fp_wake *wake_open(fp_loop *l, uint32_t listener_id) {
  fp_wake *wake = calloc(1, sizeof(*wake));
  if (wake == NULL) return NULL;
  wake->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake->efd < 0 || uv_poll_init(l->uv, &wake->poll, wake->efd) != 0) {
    if (wake->efd >= 0) close(wake->efd);
    free(wake);
    return NULL;
  }
  wake->loop = l;
  wake->listener_id = listener_id;
  wake->poll.data = wake;
  uv_poll_start(&wake->poll, UV_READABLE, on_wake);
  /* The loop's own handle keeps the process alive for its listeners (update_ref). */
  uv_unref((uv_handle_t *)&wake->poll);
  return wake;
}

static void wake_close(fp_wake *wake) {
  if (wake == NULL) return;
  uv_poll_stop(&wake->poll);
  uv_close((uv_handle_t *)&wake->poll, on_wake_closed);
}

/* Stops polling a listener and closes its socket (this process's descriptor of it). */
static void listener_close(fp_loop *l, fp_listener *listener) {
  if (!listener->paused) listener_unwatch(l, listener);
  close(listener->fd);
  wake_close(listener->wake);
  listener->wake = NULL;
}

int fp_listen_socket(const struct sockaddr *addr, socklen_t len, int backlog, int reuse_port,
                     int ipv6_only, const char **syscall) {
  int one = 1;
  *syscall = "socket";
  int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  /* As libuv does for every TCP listener: a restart may bind over TIME_WAIT connections. */
  (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  *syscall = "setsockopt";
  if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) goto fail;
  if (addr->sa_family == AF_INET6) {
    int v6only = ipv6_only ? 1 : 0;
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) < 0) goto fail;
  }
  *syscall = "bind";
  if (bind(fd, addr, len) < 0) goto fail;
  *syscall = "listen";
  if (listen(fd, backlog) < 0) goto fail;
  return fd;
fail : {
  int err = errno;
  close(fd);
  return -err;
}
}

int fp_adopt_listener(fp_loop *l, int fd, int shared, int *port_out, char *addr_out,
                      size_t addr_len, const char **syscall) {
  struct sockaddr_storage bound;
  socklen_t bound_len = sizeof(bound);
  *syscall = "getsockname";
  if (getsockname(fd, (struct sockaddr *)&bound, &bound_len) < 0) return -errno;
  int accepting = 0;
  socklen_t accepting_len = sizeof(accepting);
  *syscall = "getsockopt";
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &accepting_len) < 0) return -errno;
  if (!accepting || (bound.ss_family != AF_INET && bound.ss_family != AF_INET6)) return -EINVAL;
  /* Accepted sockets inherit O_NONBLOCK through accept4 flags; the listener itself must not
   * block either (a socket handed over by another process may be blocking). */
  *syscall = "fcntl";
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)) {
    return -errno;
  }
  /* The listener's own spelling is not unwrapped (as net.Server.address()). */
  fp_listener listener;
  memset(&listener, 0, sizeof(listener));
  listener.fd = fd;
  /* Accepted sockets inherit TCP_NODELAY from their listener (Linux copies the listener's TCP
   * state into each child), so setting it here once saves a setsockopt per connection. */
  set_nodelay(fd);
  if (bound.ss_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)&bound;
    *port_out = ntohs(in->sin_port);
    inet_ntop(AF_INET, &in->sin_addr, addr_out, (socklen_t)addr_len);
    listener.wildcard = in->sin_addr.s_addr == htonl(INADDR_ANY);
  } else {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&bound;
    *port_out = ntohs(in6->sin6_port);
    inet_ntop(AF_INET6, &in6->sin6_addr, addr_out, (socklen_t)addr_len);
    listener.wildcard = IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr) ? 1 : 0;
  }
  listener.id = l->next_listener_id;
  listener.shared = shared ? 1 : 0;
  if (shared && !l->owner) {
    *syscall = "eventfd";
    listener.wake = wake_open(l, listener.id);
    if (listener.wake == NULL) return -ENOMEM;
  }
  *syscall = "epoll_ctl";
  if (listener_watch(l, &listener) < 0) {
    int err = errno;
    wake_close(listener.wake);
    return -err;
  }
  l->next_listener_id++;
  if (l->nlisteners == l->cap_listeners) {
    l->cap_listeners = l->cap_listeners ? l->cap_listeners * 2 : 8;
    l->listeners = xrealloc(l->listeners, l->cap_listeners * sizeof(fp_listener));
  }
  l->listeners[l->nlisteners++] = listener;
  return (int)listener.id;
}

int fp_listen(fp_loop *l, const struct sockaddr *addr, socklen_t len, int backlog,
              int reuse_port, int ipv6_only, int *port_out, char *addr_out, size_t addr_len,
              const char **syscall) {
  int fd = fp_listen_socket(addr, len, backlog, reuse_port, ipv6_only, syscall);
  if (fd < 0) return fd;
  int id = fp_adopt_listener(l, fd, 0, port_out, addr_out, addr_len, syscall);
  if (id < 0) close(fd);
  return id;
}

int fp_close_listener(fp_loop *l, uint32_t id) {
  fp_listener *listener = find_listener(l, id);
  if (listener == NULL) return 0;
  listener_close(l, listener);
  *listener = l->listeners[--l->nlisteners];
  return 1;
}

int fp_listener_tls(fp_loop *l, uint32_t id, uint32_t timeout_ms) {
  fp_listener *listener = find_listener(l, id);
  if (listener == NULL || !l->copy_mode || timeout_ms == 0) return -EINVAL;
  listener->tls_timeout_ms = timeout_ms;
  return 0;
}

static void pause_listener(fp_loop *l, fp_listener *listener) {
  listener_unwatch(l, listener);
  listener->paused = 1;
  listener->resume_at = now_ms(l) + ACCEPT_PAUSE_MS;
}

static void on_listener(fp_loop *l, fp_listener *listener) {
  for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
    struct sockaddr_storage peer;
    socklen_t peer_len = sizeof(peer);
    int fd = fp_accept4(listener->fd, (struct sockaddr *)&peer, &peer_len,
                        SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      /* The peer gave up between SYN and accept, or a firewall said no: next one. */
      if (err == EINTR || err == ECONNABORTED || err == EPROTO || err == EPERM) continue;
      if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        pause_listener(l, listener);
      }
      enqueue(l, FP_EV_LISTENER_ERROR, listener->id, 0, -err, 0, 0);
      return;
    }
    fp_conn *c = conn_new(l);
    if (c == NULL) {
      close(fd);
      enqueue(l, FP_EV_LISTENER_ERROR, listener->id, 0, -ENOMEM, 0, 0);
      return;
    }
    c->cfd = fd;
    memcpy(&c->peer, &peer, peer_len < sizeof(c->peer) ? peer_len : sizeof(c->peer));
    c->listener_id = listener->id;
    if (listener->wildcard) {
      socklen_t local_len = sizeof(c->local);
      if (getsockname(fd, (struct sockaddr *)&c->local, &local_len) == 0) c->has_local = 1;
    }
    l->accepted++;
    enqueue_conn(l, FP_EV_ACCEPT, c, listener->id, 0, 0);
    if (listener->tls_timeout_ms > 0) {
      /* The ClientHello is awaited here, not in JavaScript: watched (its registration reports
       * bytes that are already there) under the handshake deadline. */
      c->tls_stage = FP_TLS_HELLO;
      c->c_wr = 1; /* no EPOLLOUT until a handshake write says EAGAIN */
      heap_set(l, c, now_ms(l) + listener->tls_timeout_ms);
      if (watch_client(l, c, EPOLL_CTL_ADD) < 0) finish(l, c, FP_CLOSE_ERROR);
    }
  }
}

/* ------------------------------------------------------------------ connect */

static void attempt_failed(fp_loop *l, fp_conn *c, int reason, int err) {
  heap_remove(l, c);
  close(c->ufd); /* also leaves the epoll set */
  c->ufd = -1;
  c->u_rd = c->u_wr = 0;
  c->state = FP_CS_ACCEPTED;
  enqueue_conn(l, FP_EV_CONNECT_FAILED, c, reason, -err, 0);
}

int fp_connect(fp_loop *l, fp_conn *c, const struct sockaddr *addr, socklen_t len,
               uint32_t timeout_ms, int32_t relay_idle_ms) {
  if (c->state != FP_CS_ACCEPTED) return -EINVAL;
  c->auto_relay_idle = relay_idle_ms;
  c->connect_start_ns = uv_hrtime();
  int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    enqueue_conn(l, FP_EV_CONNECT_FAILED, c, FP_FAIL_ERROR, -errno, 0);
    return 0;
  }
  set_nodelay(fd);
  hold_handshake_ack(fd);
  if (fp_sys_connect(fd, addr, len) < 0 && errno != EINPROGRESS) {
    int err = errno;
    close(fd);
    enqueue_conn(l, FP_EV_CONNECT_FAILED, c, classify_connect_error(err), -err, 0);
    return 0;
  }
  struct epoll_event ev;
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = conn_tag(c, KIND_UPSTREAM);
  if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
    int err = errno;
    close(fd);
    enqueue_conn(l, FP_EV_CONNECT_FAILED, c, FP_FAIL_ERROR, -err, 0);
    return 0;
  }
  /* Connected at once or not, completion is reported by the first EPOLLOUT. */
  c->ufd = fd;
  c->u_rd = c->u_wr = c->u_fin = c->u_err = 0;
  c->state = FP_CS_CONNECTING;
  if (timeout_ms > 0) {
    c->connect_deadline = now_ms(l) + timeout_ms;
    heap_set(l, c, c->connect_deadline);
  } else {
    c->connect_deadline = UINT64_MAX;
    heap_remove(l, c);
  }
  return 0;
}

/* Client events: EPOLLOUT only once a send to it said EAGAIN (see c_out). */
static int watch_client(fp_loop *l, fp_conn *c, int op) {
  struct epoll_event ev;
  ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET | (c->c_wr ? 0u : (uint32_t)EPOLLOUT);
  ev.data.u64 = conn_tag(c, KIND_CLIENT);
  if (epoll_ctl(l->epfd, op, c->cfd, &ev) < 0) return -1;
  c->c_watched = 1;
  c->c_out = c->c_wr ? 0 : 1;
  return 0;
}

/* A write to the client said EAGAIN (c_wr is clear): its EPOLLOUT is wanted from now on. */
static int await_client_writable(fp_loop *l, fp_conn *c) {
  if (!c->c_watched || c->c_out) return 0;
  return watch_client(l, c, EPOLL_CTL_MOD);
}

static void start_relay(fp_loop *l, fp_conn *c, uint32_t idle_ms) {
  c->state = FP_CS_RELAYING;
  /* The client was never read: assume both ways ready, a short read or EAGAIN corrects it. */
  c->c_rd = c->c_wr = 1;
  c->idle_ms = idle_ms;
  c->last_active = now_ms(l);
  if (idle_ms > 0) heap_set(l, c, c->last_active + idle_ms);
  else heap_remove(l, c);
  l->relayed_conns++;
  /*
   * Pump first, then add the client to the epoll set: what the first read drained raises no
   * event, and bytes that arrive after it are seen by EPOLL_CTL_ADD itself (an edge-triggered
   * registration reports what is ready when it is made). Added before, its registration event
   * would come after the read and cost a recv that says EAGAIN.
   */
  relay_pump(l, c);
  if (c->state != FP_CS_RELAYING) return;
  /* A TLS client is watched since accept already (EPOLLOUT too, if a handshake write waited:
   * one spare wake-up at most, cheaper than a call to drop it). */
  if (!c->c_watched && watch_client(l, c, EPOLL_CTL_ADD) < 0) finish(l, c, FP_CLOSE_ERROR);
}

/*
 * The upstream connected while the client had sent nothing yet (with a client that speaks
 * first, on loopback, its bytes are often a few microseconds behind). The ACK stays held while
 * the loop looks once more for the client's bytes: the harvest that follows does not sleep, and
 * at its end release_held_acks() sends the ACKs of clients still silent. It must not wait
 * longer: with a server-first protocol (MySQL, SMTP) the client speaks only after the server,
 * and the server cannot accept the connection before the ACK arrives. Held alone, the kernel
 * would send it with its delayed-ACK timer, up to 200 ms later (TCP_DELACK_MAX).
 */
static void hold_ack(fp_loop *l, fp_conn *c) {
  push_tag(&l->held_acks, &l->nheld, &l->cap_held, slot_tag(c));
}

/*
 * Sends the held ACKs of upstream sockets that still have nothing to carry them, except the
 * `keep` newest (held during the current harvest: they get their look in the next one). Quick
 * ACKs back on sends a scheduled ACK at once (tcp(7), TCP_QUICKACK).
 */
static void release_held_acks(fp_loop *l, uint32_t keep) {
  uint32_t n = l->nheld - keep;
  for (uint32_t i = 0; i < n; i++) {
    fp_conn *c = conn_by_tag(l, l->held_acks[i]);
    if (c == NULL || c->ufd < 0 || !upstream_sent_nothing(c)) continue;
    int one = 1;
    (void)setsockopt(c->ufd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
  }
  memmove(l->held_acks, l->held_acks + n, keep * sizeof(uint64_t));
  l->nheld = keep;
}

static void connect_done(fp_loop *l, fp_conn *c, uint32_t events) {
  /* A failed connect always reports EPOLLERR (sk_err is set): a plain EPOLLOUT is a success
   * without asking SO_ERROR. */
  if (events & (EPOLLERR | EPOLLHUP)) {
    int err = so_error(c->ufd);
    if (err != 0) {
      attempt_failed(l, c, classify_connect_error(err), err);
      return;
    }
  }
  if (!(events & EPOLLOUT)) return;
  heap_remove(l, c);
  c->state = FP_CS_CONNECTED;
  c->u_wr = 1;
  c->u_rd = (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) ? 1 : 0;
  c->u_fin = (events & EPOLLRDHUP) ? 1 : 0;
  c->u_err = (events & EPOLLERR) ? 1 : 0;
  double micros = (double)(uv_hrtime() - c->connect_start_ns) / 1000.0;
  enqueue_conn(l, FP_EV_CONNECTED, c, micros, 0, 0);
  if (c->auto_relay_idle >= 0) start_relay(l, c, (uint32_t)c->auto_relay_idle);
  if (c->state != FP_CS_DEAD && upstream_sent_nothing(c)) hold_ack(l, c);
}

int fp_relay(fp_loop *l, fp_conn *c, uint32_t idle_ms) {
  if (c->state != FP_CS_CONNECTED) return -EINVAL;
  start_relay(l, c, idle_ms);
  return 0;
}

/* ------------------------------------------------------------------ relay */

static void finish(fp_loop *l, fp_conn *c, int how) {
  if (c->state == FP_CS_DEAD) return;
  heap_remove(l, c);
  if (c->cfd >= 0) fp_sys_close(c->cfd);
  if (c->ufd >= 0) fp_sys_close(c->ufd);
  c->cfd = c->ufd = -1;
  if (c->ssl != NULL) fp_tls_session_free(c->ssl);
  c->ssl = NULL;
  drop_buf(l, &c->c2u);
  drop_buf(l, &c->u2c);
  enqueue_conn(l, FP_EV_CLOSED, c, (double)c->c2u.bytes, (double)c->u2c.bytes, how);
  bury(l, c);
}

/*
 * A reset (ECONNRESET on read, EPIPE or ECONNRESET on write) is passed on as a reset: SO_LINGER
 * {1, 0} makes close() send RST to the other peer. Any other error closes both sides.
 */
static void side_failed(fp_loop *l, fp_conn *c, uint32_t side, int err) {
  if (err == ECONNRESET || err == EPIPE) {
    int other = side == KIND_CLIENT ? c->ufd : c->cfd;
    if (other >= 0) {
      struct linger lg = {1, 0};
      (void)setsockopt(other, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    finish(l, c, FP_CLOSE_RESET);
  } else {
    finish(l, c, FP_CLOSE_ERROR);
  }
}

/*
 * The source of `dir` sent FIN and its buffer is empty. The first FIN of a connection becomes
 * shutdown(SHUT_WR) on the other socket while the other direction keeps flowing (half-close);
 * the second closes both sockets, which sends the same FIN after whatever the kernel still holds,
 * one call fewer.
 */
static void pass_fin(fp_loop *l, fp_conn *c, int dir) {
  fp_dir *d = dir == 0 ? &c->c2u : &c->u2c;
  fp_dir *other = dir == 0 ? &c->u2c : &c->c2u;
  d->fin_sent = 1;
  /* The upstream ended: a TLS client learns it from close_notify, ahead of the TCP FIN. Best
   * effort: should the client's send buffer be full right after the last record, the alert is
   * not retried and the client sees the FIN alone. */
  if (dir == 1 && c->ssl != NULL) fp_tls_close_notify(c->ssl);
  if (other->fin_sent) {
    finish(l, c, FP_CLOSE_NORMAL);
    return;
  }
  (void)shutdown(dir == 0 ? c->ufd : c->cfd, SHUT_WR);
}

/*
 * Moves bytes one way through the direction's buffer (a pipe for splice(2), or memory for
 * recv/send): written to the destination while it takes them, read from the source while the
 * buffer has room. At most one buffer of bytes is held per direction, so a destination that does not read stops the source from being read and
 * back-pressure reaches the sender through TCP flow control. Returns 1 when the budget ran out
 * with work possibly left.
 */
static int pump(fp_loop *l, fp_conn *c, int dir) {
  fp_dir *d = dir == 0 ? &c->c2u : &c->u2c;
  int src = dir == 0 ? c->cfd : c->ufd;
  int dst = dir == 0 ? c->ufd : c->cfd;
  uint8_t *src_rd = dir == 0 ? &c->c_rd : &c->u_rd;
  uint8_t *dst_wr = dir == 0 ? &c->u_wr : &c->c_wr;
  const uint8_t *src_fin = dir == 0 ? &c->c_fin : &c->u_fin;
  const uint8_t *src_err = dir == 0 ? &c->c_err : &c->u_err;
  uint32_t src_side = dir == 0 ? KIND_CLIENT : KIND_UPSTREAM;
  uint32_t dst_side = dir == 0 ? KIND_UPSTREAM : KIND_CLIENT;
  uint32_t moved = 0;
  /* The client's side of a TLS connection goes through its SSL session (decrypted bytes). */
  int tls_in = c->ssl != NULL && dir == 0, tls_out = c->ssl != NULL && dir == 1;
  for (;;) {
    if (d->in_flight > 0 && *dst_wr) {
      ssize_t n = tls_out ? tls_move_out(c, d) : move_out(l, d, dst);
      if (n > 0) {
        d->in_flight -= (uint32_t)n;
        moved += (uint32_t)n;
        l->relayed_bytes += (uint64_t)n;
        c->last_active = now_ms(l);
        if (d->in_flight == 0) {
          buf_release(l, d->buf);
          d->buf = NULL;
        }
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) {
        *dst_wr = 0; /* EPOLLOUT will resume; meanwhile read on while the buffer has room */
        if (dir == 1 && await_client_writable(l, c) < 0) {
          finish(l, c, FP_CLOSE_ERROR);
          return 0;
        }
      } else {
        side_failed(l, c, dst_side, n < 0 ? errno : EIO);
        return 0;
      }
    }
    if (d->eof) {
      if (d->in_flight == 0 && !d->fin_sent) pass_fin(l, c, dir);
      return 0;
    }
    if (!*src_rd) return 0;
    if (d->buf == NULL) {
      d->buf = buf_acquire(l);
      if (d->buf == NULL) {
        finish(l, c, FP_CLOSE_ERROR);
        return 0;
      }
    }
    uint32_t room = l->buf_size - d->buf->head - d->in_flight;
    if (room == 0) return 0;
    if (moved >= PUMP_BUDGET) return 1;
    ssize_t n = tls_in ? tls_move_in(c, d, room) : move_in(l, d, src, room);
    if (n > 0) {
      d->in_flight += (uint32_t)n;
      d->bytes += (uint64_t)n;
      c->last_active = now_ms(l);
      /* SSL_read returns one record at a time: a short read says nothing about the socket. */
      if (l->copy_mode && (uint32_t)n < room && !*src_err && !tls_in) {
        /*
         * recv hands over everything the socket holds up to `room`, so a short read drained it:
         * wait for the next edge (bytes arriving from now on raise one: epoll reports every
         * wakeup after the event was harvested) rather than read again for EAGAIN. Once the
         * peer's FIN was reported, it came after every byte the peer sent (TCP processes it in
         * order), so a short read also reached the end: EOF, without the read that returns 0.
         * After an error report (a reset), reads go on until recv reports it.
         */
        if (*src_fin) d->eof = 1;
        else *src_rd = 0;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      d->eof = 1; /* the FIN is passed on once the buffer is empty (loop above) */
      if (d->in_flight == 0) {
        buf_release(l, d->buf);
        d->buf = NULL;
      }
      continue;
    }
    if (errno != EAGAIN) {
      side_failed(l, c, src_side, errno);
      return 0;
    }
    if (d->in_flight == 0) {
      /* An empty buffer always has room: the source has nothing to read. */
      buf_release(l, d->buf);
      d->buf = NULL;
      *src_rd = 0;
      return 0;
    }
    /* Splice: either the source is empty or the pipe is full (its capacity counts pages, not
     * bytes): only the socket can tell. Full: the source stays readable, the destination's
     * EPOLLOUT resumes the pump. (recv says EAGAIN only when the socket is empty.) */
    int pending = 0;
    if (l->copy_mode || ioctl(src, FIONREAD, &pending) < 0 || pending == 0) *src_rd = 0;
    return 0;
  }
}

static void relay_pump(fp_loop *l, fp_conn *c) {
  int more = pump(l, c, 0);
  if (c->state != FP_CS_RELAYING) return;
  more |= pump(l, c, 1);
  if (c->state != FP_CS_RELAYING) return;
  if (more) add_pending(l, c);
}

void fp_close(fp_loop *l, fp_conn *c) { finish(l, c, FP_CLOSE_ABORTED); }

int fp_detach(fp_loop *l, fp_conn *c) {
  if (c->state == FP_CS_RELAYING || c->state == FP_CS_DEAD || c->ssl != NULL) return -1;
  heap_remove(l, c);
  /* A TLS listener's client is watched from accept; its registration would outlive this loop's
   * hold on the descriptor. */
  if (c->c_watched) (void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, c->cfd, NULL);
  if (c->ufd >= 0) close(c->ufd);
  c->ufd = -1;
  int fd = c->cfd; /* plain listeners: never added to the epoll set before relaying */
  c->cfd = -1;
  bury(l, c);
  return fd;
}

/* ------------------------------------------------------------------ TLS handshake */

/* Replaces the bytes the next TLS event carries. */
static void set_tls_bytes(fp_conn *c, const void *bytes, uint32_t len) {
  drop_tls_bytes(c);
  c->tls_bytes = xrealloc(NULL, len > 0 ? len : 1);
  memcpy(c->tls_bytes, bytes, len);
  c->tls_bytes_len = len;
}

/*
 * The ClientHello is only peeked at: JavaScript reads it (SNI) and either answers with a context
 * (fp_tls_accept: OpenSSL then reads it from the socket) or detaches the socket with the hello
 * still unread, for the JavaScript TLS path to handle from the start (PROXY-less refusals with
 * an alert, routes that need JavaScript, contexts the addon cannot build).
 */
static void tls_peek_hello(fp_loop *l, fp_conn *c) {
  /* A hello arriving in small pieces is copied again only once enough is there to finish it (or
   * its next record): counting what the socket holds copies nothing. */
  int held = 0;
  if (c->hello_needed > 0 && !c->c_fin && !c->c_err && ioctl(c->cfd, FIONREAD, &held) == 0 &&
      (uint32_t)held < c->hello_needed) {
    return;
  }
  if (l->hello_scratch == NULL) l->hello_scratch = xrealloc(NULL, FP_TLS_HELLO_MAX);
  ssize_t n = fp_recv(c->cfd, l->hello_scratch, FP_TLS_HELLO_MAX, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return;
    finish(l, c, errno == ECONNRESET ? FP_CLOSE_RESET : FP_CLOSE_ERROR);
    return;
  }
  c->hello_needed = n > 0 ? fp_tls_hello_needed(l->hello_scratch, (uint32_t)n) : 0;
  if (n == 0 || c->hello_needed > 0) {
    /* More will come, unless the client already ended (then nothing more will). */
    if (n == 0 || c->c_fin) finish(l, c, FP_CLOSE_NORMAL);
    return;
  }
  set_tls_bytes(c, l->hello_scratch, (uint32_t)n);
  c->tls_stage = FP_TLS_SELECTING;
  enqueue_conn(l, FP_EV_CLIENT_HELLO, c, 0, 0, 0);
}

static void tls_handshake_step(fp_loop *l, fp_conn *c) {
  fp_tls_failure failure;
  int done = fp_tls_handshake(c->ssl, &failure);
  if (done == 0) return;
  if (done == 2) {
    /* The socket's send buffer is full: wait for EPOLLOUT too. */
    c->c_wr = 0;
    if (await_client_writable(l, c) < 0) finish(l, c, FP_CLOSE_ERROR);
    return;
  }
  if (done > 0) {
    c->tls_stage = FP_TLS_ESTABLISHED;
    heap_remove(l, c);
    enqueue_conn(l, FP_EV_TLS_ESTABLISHED, c, fp_tls_version(c->ssl), fp_tls_resumed(c->ssl), 0);
    return;
  }
  if (failure.reason == 0 && failure.verify_result == 0) {
    /* The client went away mid-handshake: a close, not a TLS failure. */
    finish(l, c, failure.sys_errno == ECONNRESET ? FP_CLOSE_RESET : FP_CLOSE_NORMAL);
    return;
  }
  set_tls_bytes(c, failure.text, (uint32_t)strlen(failure.text));
  enqueue_conn(l, FP_EV_TLS_FAILED, c, failure.reason, (double)failure.verify_result,
               failure.sys_errno);
  finish(l, c, FP_CLOSE_ERROR);
}

/* The client of a connection in its TLS handshake is readable or writable (see dispatch). */
static void tls_client_ready(fp_loop *l, fp_conn *c) {
  if (c->tls_stage == FP_TLS_HELLO) tls_peek_hello(l, c);
  else if (c->tls_stage == FP_TLS_HANDSHAKE) tls_handshake_step(l, c);
  /* FP_TLS_SELECTING: JavaScript answers within the event's delivery; FP_TLS_QUEUED: the
   * handshake starts in its turn. The flags keep the rest. */
}

/*
 * The handshake is queued, not run here: JavaScript answers a whole batch of hellos at once, and
 * their first steps (the server's flight, with its signature: about 200 µs each) run back to back
 * would hold every established connection's bytes for the whole burst (50 hellos: 10 ms). harvest
 * starts them HANDSHAKES_PER_TURN at a time with the sockets served in between (on_idle, for
 * hellos answered outside a harvest).
 */
int fp_tls_accept(fp_loop *l, fp_conn *c, struct ssl_ctx_st *ctx) {
  if (c->tls_stage != FP_TLS_SELECTING) return -EINVAL;
  c->ssl = fp_tls_session_new(ctx, c->cfd);
  if (c->ssl == NULL) return -ENOMEM;
  /* The hello event was delivered (this is its answer): its bytes are not needed any more. */
  drop_tls_bytes(c);
  c->tls_stage = FP_TLS_QUEUED;
  push_tag(&l->handshakes, &l->nhandshakes, &l->cap_handshakes, slot_tag(c));
  return 0;
}

/* Starts up to HANDSHAKES_PER_TURN queued handshakes (the ClientHello is in each socket). */
static void start_queued_handshakes(fp_loop *l) {
  for (int started = 0; started < HANDSHAKES_PER_TURN && queued_handshakes(l) > 0 && !l->shut;) {
    fp_conn *c = conn_by_tag(l, l->handshakes[l->handshakes_head++]);
    if (c == NULL || c->tls_stage != FP_TLS_QUEUED) continue; /* closed meanwhile */
    c->tls_stage = FP_TLS_HANDSHAKE;
    tls_handshake_step(l, c);
    started++;
  }
  if (queued_handshakes(l) == 0) l->nhandshakes = l->handshakes_head = 0;
}

/* ------------------------------------------------------------------ libuv callbacks */

static void dispatch(fp_loop *l, const struct epoll_event *ev) {
  uint64_t data = ev->data.u64;
  uint32_t kind = (uint32_t)(data & 3u);
  uint32_t events = ev->events;
  if (kind == KIND_LISTENER) {
    fp_listener *listener = find_listener(l, (uint32_t)(data >> 32));
    if (listener != NULL && !listener->paused) on_listener(l, listener);
    return;
  }
  uint32_t slot = (uint32_t)(data & 0xffffffffu) >> 2;
  uint32_t gen = (uint32_t)(data >> 32);
  if (slot >= l->nslots) return;
  fp_conn *c = l->slots[slot];
  if (c == NULL || c->gen != gen || c->state == FP_CS_DEAD) return;
  int rd = (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
  int wr = (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0;
  int fd;
  if (kind == KIND_UPSTREAM) {
    fd = c->ufd;
    if (fd < 0) return;
    if (c->state == FP_CS_CONNECTING) {
      connect_done(l, c, events);
      return;
    }
    if (rd) c->u_rd = 1;
    if (wr) c->u_wr = 1;
    if (events & EPOLLRDHUP) c->u_fin = 1;
    if (events & EPOLLERR) c->u_err = 1;
  } else {
    fd = c->cfd;
    if (fd < 0) return;
    if (rd) c->c_rd = 1;
    if (wr) c->c_wr = 1;
    if (events & EPOLLRDHUP) c->c_fin = 1;
    if (events & EPOLLERR) c->c_err = 1;
    if (in_tls_handshake(c)) {
      tls_client_ready(l, c);
      return;
    }
  }
  if (c->state != FP_CS_RELAYING) return;
  if (events & EPOLLERR) {
    int err = so_error(fd);
    if (err != 0) {
      side_failed(l, c, kind, err);
      return;
    }
  }
  relay_pump(l, c);
}

/* Handles `n` ready events; 1 when libuv's own set was among them. */
static int dispatch_ready(fp_loop *l, const struct epoll_event *evs, int n) {
  int libuv_due = 0;
  for (int i = 0; i < n; i++) {
    if (evs[i].data.u64 == TAG_LIBUV) libuv_due = 1;
    else dispatch(l, &evs[i]);
  }
  return libuv_due;
}

/*
 * Harvests the loop's set (waiting up to `timeout` ms for the first round) and handles it all.
 * Returns 1 when libuv has work of its own: its set was ready, or the wait ran out (a timer is
 * due) or was interrupted (a signal).
 */
static int harvest(fp_loop *l, int timeout) {
  struct epoll_event evs[EVENTS_PER_WAIT];
  int libuv_due = 0;
  /* ACKs held before this harvest get one look without sleeping (see hold_ack). */
  uint32_t held_before = l->nheld;
  for (int round = 0; round < MAX_WAIT_ROUNDS && !l->shut; round++) {
    int wait = round == 0 && held_before == 0 && queued_handshakes(l) == 0 ? timeout : 0;
    int n = fp_epoll_wait(l->epfd, evs, EVENTS_PER_WAIT, wait);
    if (round == 0 && wait != 0) {
      /* libuv's cached clock is from before the wait: deadlines and last-activity times taken
       * now, here and in JavaScript, must not be early by however long the loop slept. */
      uv_update_time(l->uv);
      if (n <= 0) libuv_due = 1;
    }
    if (n <= 0) break;
    libuv_due |= dispatch_ready(l, evs, n);
    if (n < EVENTS_PER_WAIT) break;
  }
  if (!l->shut) release_held_acks(l, l->nheld - held_before);
  fp_settle(l);
  if (queued_handshakes(l) == 0 || l->shut) return libuv_due;
  /* The handshakes JavaScript just accepted, with the sockets served between two: relaying needs
   * no JavaScript, so established connections wait for at most HANDSHAKES_PER_TURN handshakes,
   * and JavaScript still gets the batch's events at once. */
  while (queued_handshakes(l) > 0 && !l->shut) {
    start_queued_handshakes(l);
    int n = fp_epoll_wait(l->epfd, evs, EVENTS_PER_WAIT, 0);
    if (n > 0) libuv_due |= dispatch_ready(l, evs, n);
  }
  fp_settle(l);
  return libuv_due;
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  (void)status;
  (void)events;
  fp_loop *l = handle->data;
  harvest(l, 0);
  /* Nested in libuv's poll, nothing says when the next harvest comes: no ACK stays held. */
  if (!l->shut) release_held_acks(l, 0);
}

/* libuv's queue of watchers whose epoll registration it has yet to make (on its next poll). Its
 * first pointer points at itself when empty, in both layouts libuv has used (QUEUE, uv__queue). */
static int libuv_registrations_pending(const uv_loop_t *uv) {
  void *const *queue = (void *const *)&uv->watcher_queue;
  return queue[0] != (const void *)queue;
}

static void on_spin(uv_idle_t *handle) { (void)handle; }

/* How long libuv would sleep now (spin handle stopped): 0 while it has work waiting, including
 * registrations to make (a descriptor not yet in its set could not wake the owner). */
static int libuv_sleep_ms(fp_loop *l) {
  if (libuv_registrations_pending(l->uv)) return 0;
  return uv_backend_timeout(l->uv);
}

/*
 * Owner mode: the loop sleeps here, on its own set (which holds libuv's set), for as long as libuv
 * would have slept, and goes on serving its sockets without handing the thread back for as long
 * as libuv has nothing to do: each wake-up then costs one epoll_wait, as in nginx, instead of a
 * turn of libuv's loop (its own poll, timers, idle, check and close phases, and Node's immediate
 * check). libuv gets the thread back when its set is ready, a timer is due, JavaScript left work
 * for it (an immediate, a new socket, a handle to close), or after OWNER_TURNS wake-ups; the spin
 * handle then keeps its own poll from waiting.
 */
static void on_block(uv_prepare_t *handle) {
  fp_loop *l = handle->data;
  uv_idle_stop(&l->spin);
  for (int turn = 0; turn < OWNER_TURNS; turn++) {
    int timeout = libuv_sleep_ms(l);
    if (turn > 0 && timeout == 0) break;
    if (harvest(l, timeout) || timeout == 0 || l->shut) break;
  }
  if (l->shut) return;
  /* libuv may now sleep in its own poll: no ACK stays held meanwhile. */
  release_held_acks(l, 0);
  uv_idle_start(&l->spin, on_spin);
}

static void on_timer(uv_timer_t *handle) {
  fp_loop *l = handle->data;
  l->timer_due = UINT64_MAX;
  uint64_t now = now_ms(l);
  while (l->heap_size > 0 && l->heap[0]->heap_key <= now) {
    fp_conn *c = l->heap[0];
    if (c->state == FP_CS_CONNECTING) {
      if (c->connect_deadline <= now) attempt_failed(l, c, FP_FAIL_TIMEOUT, ETIMEDOUT);
      else heap_set(l, c, c->connect_deadline);
    } else if (in_tls_handshake(c)) {
      finish(l, c, FP_CLOSE_IDLE); /* the handshake deadline passed */
    } else if (c->state == FP_CS_RELAYING && c->idle_ms > 0) {
      uint64_t due = c->last_active + c->idle_ms;
      if (due <= now) finish(l, c, FP_CLOSE_IDLE);
      else heap_set(l, c, due); /* activity since: sleep again (lazy re-keying) */
    } else {
      heap_remove(l, c);
    }
  }
  for (uint32_t i = 0; i < l->nlisteners; i++) {
    fp_listener *listener = &l->listeners[i];
    if (listener->paused && listener->resume_at <= now) {
      listener->paused = 0;
      (void)listener_watch(l, listener);
    }
  }
  fp_settle(l);
}

static void on_idle(uv_idle_t *handle) {
  fp_loop *l = handle->data;
  uv_idle_stop(&l->idle);
  l->idle_active = 0;
  uint32_t n = l->npending;
  for (uint32_t i = 0; i < n && !l->shut; i++) {
    fp_conn *c = conn_by_tag(l, l->pending[i]);
    if (c == NULL || c->state != FP_CS_RELAYING) continue;
    c->in_pending = 0;
    relay_pump(l, c);
  }
  /* Connections that ran out of budget again were appended after the first n. */
  memmove(l->pending, l->pending + n, (l->npending - n) * sizeof(uint64_t));
  l->npending -= n;
  start_queued_handshakes(l);
  fp_settle(l);
}

/* ------------------------------------------------------------------ life cycle */

int fp_loop_init(fp_loop *l, uv_loop_t *uv, uint32_t buf_size, int copy_mode) {
  memset(l, 0, sizeof(*l));
  l->uv = uv;
  l->copy_mode = copy_mode ? 1 : 0;
  l->timer_due = UINT64_MAX;
  l->next_listener_id = 1;
  l->buf_size = buf_size;
  /* Pipes cost two descriptors each; buffers cost their size: keep about 4 MiB of them. */
  l->buf_pool_max = copy_mode ? (4u << 20) / buf_size + 1 : PIPE_POOL_MAX;
  l->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (l->epfd < 0) return -errno;
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_LIBUV};
  if (loop_owner == NULL && epoll_ctl(l->epfd, EPOLL_CTL_ADD, uv_backend_fd(uv), &ev) == 0) {
    l->owner = 1;
    loop_owner = l;
    uv_prepare_init(uv, &l->block);
    l->block.data = l;
    uv_prepare_start(&l->block, on_block);
    uv_unref((uv_handle_t *)&l->block);
    uv_idle_init(uv, &l->spin);
    l->spin.data = l;
    uv_idle_start(&l->spin, on_spin);
    uv_unref((uv_handle_t *)&l->spin);
    l->open_handles = 2;
  } else {
    int err = uv_poll_init(uv, &l->poll, l->epfd);
    if (err != 0) {
      close(l->epfd);
      return err;
    }
    l->poll.data = l;
    uv_poll_start(&l->poll, UV_READABLE, on_poll);
    uv_unref((uv_handle_t *)&l->poll);
    l->open_handles = 1;
  }
  uv_timer_init(uv, &l->timer);
  l->timer.data = l;
  uv_unref((uv_handle_t *)&l->timer);
  uv_idle_init(uv, &l->idle);
  l->idle.data = l;
  l->open_handles += 2;
  return 0;
}

static void on_handle_closed(uv_handle_t *handle) {
  fp_loop *l = handle->data;
  if (--l->open_handles > 0) return;
  free(l->slots);
  free(l->gens);
  free(l->free_slots);
  free(l->heap);
  free(l->listeners);
  free(l->q);
  free(l->pending);
  free(l->handshakes);
  free(l->held_acks);
  free(l->hello_scratch);
  while (l->spare != NULL) {
    fp_conn *c = l->spare;
    l->spare = c->next_dead;
    free(c);
  }
  if (l->on_closed != NULL) l->on_closed(l);
}

void fp_loop_shutdown(fp_loop *l, void (*on_closed)(fp_loop *loop)) {
  if (l->shut) return;
  l->shut = 1;
  for (uint32_t slot = 0; slot < l->nslots; slot++) {
    fp_conn *c = l->slots[slot];
    if (c == NULL) continue;
    if (c->state != FP_CS_DEAD) {
      if (c->cfd >= 0) close(c->cfd);
      if (c->ufd >= 0) close(c->ufd);
      if (c->ssl != NULL) fp_tls_session_free(c->ssl);
      c->ssl = NULL;
      drop_buf(l, &c->c2u);
      drop_buf(l, &c->u2c);
      bury(l, c);
    }
  }
  free_dead(l);
  for (uint32_t i = 0; i < l->nlisteners; i++) listener_close(l, &l->listeners[i]);
  l->nlisteners = 0;
  while (l->buf_pool != NULL) {
    fp_buf *p = l->buf_pool;
    l->buf_pool = p->next;
    buf_close(p);
  }
  l->bufs_pooled = 0;
  l->heap_size = 0;
  l->q_head = l->q_tail = 0;
  l->npending = 0;
  l->nhandshakes = l->handshakes_head = 0;
  l->nheld = 0;
  l->on_closed = on_closed;
  if (l->owner) {
    /* Another loop of this thread, created from now on, may sleep on its own set instead. */
    loop_owner = NULL;
    uv_close((uv_handle_t *)&l->block, on_handle_closed);
    uv_close((uv_handle_t *)&l->spin, on_handle_closed);
  } else {
    uv_poll_stop(&l->poll);
    uv_close((uv_handle_t *)&l->poll, on_handle_closed);
  }
  close(l->epfd);
  l->epfd = -1;
  uv_close((uv_handle_t *)&l->timer, on_handle_closed);
  uv_close((uv_handle_t *)&l->idle, on_handle_closed);
}
