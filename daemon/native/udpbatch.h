// Shared by udpbatch.c (sockets, receive, the DHCP server's sends) and udpconn.c (connected sockets
// and runs of equal-size datagrams for TFTP windows). See udpbatch.c for the API.
#ifndef RACKHAND_UDPBATCH_H
#define RACKHAND_UDPBATCH_H
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#define META 4

typedef struct {
  uv_poll_t poll;          // first: the uv handle's address is the struct's
  int fd;
  int closing;
  int refs;                // the uv handle and the JS external: freed when both let go
  int batch;               // datagrams per recvmmsg
  int slot;                // bytes per received datagram (longer ones are cut)
  int shared;              // 1: deliver views of one slab owned by JS (no allocation per batch)
  int gso;                 // 1: send runs with UDP_SEGMENT; 0 after the route refused it
  napi_env env;
  napi_ref callback;
  napi_ref slab_ref;       // shared mode: the Buffer over `slab` and the Uint32Array over `meta`
  napi_ref meta_ref;
  napi_async_context async;
  unsigned char *slab;     // batch × slot
  uint32_t *meta;          // shared mode: batch × META
  struct mmsghdr *msgs;
  struct iovec *iov;
  struct sockaddr_in *from;
} usock_t;

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, #call " failed"); return NULL; } } while (0)

napi_value throw_errno(napi_env env, const char *what, int err);
usock_t *handle_of(napi_env env, napi_value v);
usock_t *handle_call(napi_env env, napi_callback_info info, size_t want, napi_value *argv, const char *usage);

napi_value js_connect(napi_env env, napi_callback_info info);
napi_value js_write(napi_env env, napi_callback_info info);
napi_value js_send_run(napi_env env, napi_callback_info info);
#endif
