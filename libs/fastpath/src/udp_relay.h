/*
 * The UDP half of the fast path (udp_relay.c): UDP listeners, the per-client session table and
 * both relay directions in C on Node's event loop; every decision stays in JavaScript.
 */
#ifndef STRAIT_UDP_RELAY_H
#define STRAIT_UDP_RELAY_H

#include <node_api.h>

typedef struct udp_relay_s udp_relay_t;

/* createUdpRelay(onEvent): the JavaScript entry point (see libs/fastpath/src/index.ts). */
napi_value strait_create_udp_relay(napi_env env, napi_callback_info info);

#endif
