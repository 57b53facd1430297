// A TLS load generator in which every connection is a full handshake.
//
// wrk offers each connection's previous session on its next one, so once its connections have
// each done one handshake, wrk measures TLS 1.3 resumptions (no certificate, no signature).
// This client never offers a session: each connection does the whole handshake, sends one
// `Connection: close` request, reads the response to EOF and closes, `connections` at a time,
// for `seconds`. It uses the system OpenSSL (libssl-dev) and one epoll loop on one thread.
//
//   tls-full-handshakes <port> <server name> <connections> <seconds>
//
// Prints one line `BENCHJSON {...}`: completed connections, duration, latency percentiles of a
// whole connection (connect to EOF), error counts by kind, and how many handshakes were resumed
// (must be 0). Only 127.0.0.1 is dialled.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONNECTION_TIMEOUT_NS (2 * 1000000000ull)
#define MAX_CONNECTIONS 1024

enum stage { IDLE, CONNECTING, HANDSHAKING, WRITING, READING };

struct connection {
  enum stage stage;
  int fd;
  SSL *ssl;
  uint64_t started_ns;
  size_t written;
  char status[12]; // the first bytes of the response, to check for "HTTP/1.1 200"
  size_t status_len;
};

struct counts {
  uint64_t completed, resumed, connect_errors, handshake_errors, read_errors, status_errors,
      timeouts;
};

static SSL_CTX *client_context;
static struct sockaddr_in target;
static const char *server_name;
static char request[256];
static size_t request_len;
static int epoll_fd;
static struct counts counts;
static uint32_t *latencies_us;
static size_t latencies_len, latencies_cap;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void record_latency(uint64_t ns) {
  if (latencies_len == latencies_cap) {
    latencies_cap = latencies_cap ? latencies_cap * 2 : 65536;
    latencies_us = realloc(latencies_us, latencies_cap * sizeof *latencies_us);
    if (!latencies_us) abort();
  }
  latencies_us[latencies_len++] = (uint32_t)(ns / 1000);
}

static void watch(struct connection *c, uint32_t events, int op) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  epoll_ctl(epoll_fd, op, c->fd, &ev);
}

static void finish(struct connection *c, uint64_t *error_count) {
  if (c->ssl) SSL_free(c->ssl);
  if (c->fd >= 0) close(c->fd); // closing also removes it from the epoll set
  if (error_count) (*error_count)++;
  else {
    counts.completed++;
    record_latency(now_ns() - c->started_ns);
  }
  c->ssl = NULL;
  c->fd = -1;
  c->stage = IDLE;
}

static void start(struct connection *c) {
  memset(c, 0, sizeof *c);
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  c->started_ns = now_ns();
  if (c->fd < 0) {
    c->stage = IDLE;
    counts.connect_errors++;
    return;
  }
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(c->fd, (struct sockaddr *)&target, sizeof target) < 0 && errno != EINPROGRESS) {
    finish(c, &counts.connect_errors);
    return;
  }
  c->stage = CONNECTING;
  watch(c, EPOLLOUT, EPOLL_CTL_ADD);
}

// Waits for what OpenSSL asked for; false when the result is an error instead.
static int wait_for(struct connection *c, int result) {
  switch (SSL_get_error(c->ssl, result)) {
  case SSL_ERROR_WANT_READ:
    watch(c, EPOLLIN, EPOLL_CTL_MOD);
    return 1;
  case SSL_ERROR_WANT_WRITE:
    watch(c, EPOLLOUT, EPOLL_CTL_MOD);
    return 1;
  default:
    ERR_clear_error();
    return 0;
  }
}

static void step(struct connection *c) {
  if (c->stage == CONNECTING) {
    int error = 0;
    socklen_t len = sizeof error;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &len);
    if (error) return finish(c, &counts.connect_errors);
    c->ssl = SSL_new(client_context);
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_tlsext_host_name(c->ssl, server_name);
    c->stage = HANDSHAKING;
  }
  if (c->stage == HANDSHAKING) {
    int result = SSL_connect(c->ssl);
    if (result != 1) {
      if (!wait_for(c, result)) finish(c, &counts.handshake_errors);
      return;
    }
    if (SSL_session_reused(c->ssl)) counts.resumed++;
    c->stage = WRITING;
  }
  if (c->stage == WRITING) {
    int result = SSL_write(c->ssl, request + c->written, (int)(request_len - c->written));
    if (result <= 0) {
      if (!wait_for(c, result)) finish(c, &counts.read_errors);
      return;
    }
    c->written += (size_t)result;
    if (c->written < request_len) return watch(c, EPOLLOUT, EPOLL_CTL_MOD);
    c->stage = READING;
  }
  char buffer[16384];
  for (;;) {
    int result = SSL_read(c->ssl, buffer, sizeof buffer);
    if (result > 0) {
      size_t take = sizeof c->status - c->status_len;
      if (take > (size_t)result) take = (size_t)result;
      memcpy(c->status + c->status_len, buffer, take);
      c->status_len += take;
      continue;
    }
    int error = SSL_get_error(c->ssl, result);
    if (error == SSL_ERROR_ZERO_RETURN || (error == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
      ERR_clear_error();
      // The response ended (close_notify or EOF): a complete one starts with a 200 status line.
      int ok = c->status_len == sizeof c->status && memcmp(c->status, "HTTP/1.1 200", 12) == 0;
      return finish(c, ok ? NULL : &counts.status_errors);
    }
    if (!wait_for(c, result)) finish(c, &counts.read_errors);
    return;
  }
}

static int compare_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

static uint32_t percentile(double p) {
  if (latencies_len == 0) return 0;
  size_t index = (size_t)(p / 100.0 * (double)latencies_len + 0.999999);
  if (index > 0) index--;
  if (index >= latencies_len) index = latencies_len - 1;
  return latencies_us[index];
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s <port> <server name> <connections> <seconds>\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[1]), connections = atoi(argv[3]), seconds = atoi(argv[4]);
  server_name = argv[2];
  if (port <= 0 || port > 65535 || connections <= 0 || connections > MAX_CONNECTIONS ||
      seconds <= 0) {
    fprintf(stderr, "bad port, connections (1..%d) or seconds\n", MAX_CONNECTIONS);
    return 2;
  }
  target.sin_family = AF_INET;
  target.sin_port = htons((uint16_t)port);
  target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  request_len = (size_t)snprintf(request, sizeof request,
                                 "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                                 server_name);

  client_context = SSL_CTX_new(TLS_client_method());
  // No session is ever stored or offered: that is the point of this client.
  SSL_CTX_set_session_cache_mode(client_context, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(client_context, SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_verify(client_context, SSL_VERIFY_NONE, NULL);

  epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  static struct connection pool[MAX_CONNECTIONS];
  uint64_t begin = now_ns(), deadline = begin + (uint64_t)seconds * 1000000000ull;
  for (int i = 0; i < connections; i++) start(&pool[i]);

  struct epoll_event events[MAX_CONNECTIONS];
  uint64_t now;
  while ((now = now_ns()) < deadline) {
    int ready = epoll_wait(epoll_fd, events, MAX_CONNECTIONS, 50);
    for (int i = 0; i < ready; i++) step(events[i].data.ptr);
    now = now_ns();
    for (int i = 0; i < connections; i++) {
      struct connection *c = &pool[i];
      if (c->stage != IDLE && now - c->started_ns > CONNECTION_TIMEOUT_NS)
        finish(c, &counts.timeouts);
      if (c->stage == IDLE && now < deadline) start(c);
    }
  }
  uint64_t duration_us = (now - begin) / 1000;

  qsort(latencies_us, latencies_len, sizeof *latencies_us, compare_u32);
  printf("BENCHJSON {\"completed\":%llu,\"duration_us\":%llu,\"p50_us\":%u,\"p90_us\":%u,"
         "\"p99_us\":%u,\"resumed\":%llu,\"connect_errors\":%llu,\"handshake_errors\":%llu,"
         "\"read_errors\":%llu,\"status_errors\":%llu,\"timeouts\":%llu}\n",
         (unsigned long long)counts.completed, (unsigned long long)duration_us, percentile(50),
         percentile(90), percentile(99), (unsigned long long)counts.resumed,
         (unsigned long long)counts.connect_errors, (unsigned long long)counts.handshake_errors,
         (unsigned long long)counts.read_errors, (unsigned long long)counts.status_errors,
         (unsigned long long)counts.timeouts);
  return 0;
}
