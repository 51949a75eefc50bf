// Batched UDP for the DHCP server: recvmmsg/sendmmsg, which Node's dgram does not expose.
//
// Why this exists: dgram costs one recvmsg syscall and one JS callback per datagram received, and
// one sendmsg plus one callback per datagram sent. Under a PXE storm that fixed price per packet
// is where Node falls behind Kea (BENCHMARKS.md, bench/dhcp). Here one wake-up reads up to BATCH
// datagrams with one recvmmsg and hands them to JS in one callback, and one sendmmsg sends a whole
// queue of replies. The protocol stays in TypeScript: this file only moves datagrams.
//
// The addon owns its socket (libuv would otherwise poll the same descriptor as dgram does): it is
// created non-blocking, bound to one interface with SO_BINDTOIFINDEX *before* bind() — so no
// datagram from another interface is ever queued — and polled on Node's own loop with uv_poll.
//
// Memory: received datagrams land in one slab per socket (BATCH × SLOT bytes, allocated at open);
// each batch is copied into one new JS Buffer (one allocation per batch, not per packet) with a
// Uint32Array of [offset, length, IPv4 address, port] per datagram.
//
// API (JS thread only):
//   open(port, ifindex, rcvbuf, onBatch(buf, meta)) → handle   (throws "open: EADDRINUSE" etc.)
//   send(handle, buf, meta, errs, start) → next index           meta as above, errs Int32Array:
//       0 sent, else the errno of that datagram. Stops early (returns < count) only on EAGAIN.
//   close(handle)
//   port(handle) → the bound port (for port 0)
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define BATCH 64
#define SLOT 4096
#define META 4

#ifndef SO_BINDTOIFINDEX
#define SO_BINDTOIFINDEX 62
#endif

typedef struct {
  uv_poll_t poll;          // first: the uv handle's address is the struct's
  int fd;
  int closing;
  int refs;                // the uv handle and the JS external: freed when both let go
  napi_env env;
  napi_ref callback;
  napi_async_context async;
  unsigned char *slab;     // BATCH × SLOT
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_in from[BATCH];
} usock_t;

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, #call " failed"); return NULL; } } while (0)

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[96];
  snprintf(msg, sizeof msg, "%s: %s", what, strerrorname_np(err) ? strerrorname_np(err) : "errno");
  napi_throw_error(env, strerrorname_np(err), msg);
  return NULL;
}

// One crossing into JS for the datagrams in msgs[0..n).
static void deliver(usock_t *s, int n) {
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  size_t total = 0;
  for (int i = 0; i < n; i++) total += s->msgs[i].msg_len;
  void *data = NULL;
  napi_value buf, meta_ab, meta, cb, recv, result;
  uint32_t *meta_data = NULL;
  if (napi_create_buffer(env, total ? total : 1, &data, &buf) != napi_ok) goto out;
  if (napi_create_arraybuffer(env, (size_t)n * META * 4, (void **)&meta_data, &meta_ab) != napi_ok) goto out;
  if (napi_create_typedarray(env, napi_uint32_array, (size_t)n * META, meta_ab, 0, &meta) != napi_ok) goto out;
  size_t off = 0;
  for (int i = 0; i < n; i++) {
    size_t len = s->msgs[i].msg_len;
    memcpy((char *)data + off, s->slab + (size_t)i * SLOT, len);
    meta_data[i * META + 0] = (uint32_t)off;
    meta_data[i * META + 1] = (uint32_t)len;
    meta_data[i * META + 2] = ntohl(s->from[i].sin_addr.s_addr);
    meta_data[i * META + 3] = ntohs(s->from[i].sin_port);
    off += len;
  }
  if (napi_get_reference_value(env, s->callback, &cb) != napi_ok) goto out;
  if (napi_get_global(env, &recv) != napi_ok) goto out; // make_callback wants an object
  napi_value argv[2] = { buf, meta };
  // make_callback: nextTicks and promise jobs queued by the handler run before we return.
  if (napi_make_callback(env, s->async, recv, cb, 2, argv, &result) == napi_pending_exception) {
    napi_value exc;
    if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
  }
out:
  napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  usock_t *s = (usock_t *)handle;
  if (status < 0 || !(events & UV_READABLE)) return;
  // A few batches per wake-up at most, so a flood cannot starve the rest of the loop.
  for (int round = 0; round < 4 && !s->closing; round++) {
    for (int i = 0; i < BATCH; i++) {
      s->iov[i].iov_base = s->slab + (size_t)i * SLOT;
      s->iov[i].iov_len = SLOT;
      memset(&s->msgs[i].msg_hdr, 0, sizeof s->msgs[i].msg_hdr);
      s->msgs[i].msg_hdr.msg_iov = &s->iov[i];
      s->msgs[i].msg_hdr.msg_iovlen = 1;
      s->msgs[i].msg_hdr.msg_name = &s->from[i];
      s->msgs[i].msg_hdr.msg_namelen = sizeof s->from[i];
      s->msgs[i].msg_len = 0;
    }
    int n = recvmmsg(s->fd, s->msgs, BATCH, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return; // EAGAIN: drained; anything else (ECONNREFUSED from an ICMP error…) is retried on the next wake-up
    }
    if (n == 0) return;
    deliver(s, n);
    if (n < BATCH) return;
  }
}

static void release(usock_t *s) {
  if (--s->refs == 0) { free(s->slab); free(s); }
}

static void on_closed(uv_handle_t *handle) {
  usock_t *s = (usock_t *)handle;
  close(s->fd);
  release(s);
}

static void finalize_handle(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  usock_t *s = data;
  // Never closed from JS (the environment is going away): close it here.
  if (!s->closing) {
    s->closing = 1;
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, on_closed);
  }
  release(s);
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) { napi_throw_type_error(env, NULL, "open(port, ifindex, rcvbuf, onBatch)"); return NULL; }
  uint32_t port, ifindex, rcvbuf;
  CHECK(napi_get_value_uint32(env, argv[0], &port));
  CHECK(napi_get_value_uint32(env, argv[1], &ifindex));
  CHECK(napi_get_value_uint32(env, argv[2], &rcvbuf));
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  int one = 1;
  int size = (int)rcvbuf;
  const char *step = NULL;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) step = "SO_REUSEADDR";
  else if (ifindex && setsockopt(fd, SOL_SOCKET, SO_BINDTOIFINDEX, &ifindex, sizeof ifindex) < 0) step = "SO_BINDTOIFINDEX";
  else if (setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) < 0) step = "SO_BROADCAST";
  // Past net.core.rmem_max with CAP_NET_ADMIN; the ordinary (capped) size otherwise.
  else if (size && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0 &&
           setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) < 0) step = "SO_RCVBUF";
  if (!step) {
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr = { htonl(INADDR_ANY) } };
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) step = "bind";
  }
  if (step) { int err = errno; close(fd); return throw_errno(env, step, err); }

  usock_t *s = calloc(1, sizeof *s);
  unsigned char *slab = malloc((size_t)BATCH * SLOT);
  uv_loop_t *loop = NULL;
  if (!s || !slab || napi_get_uv_event_loop(env, &loop) != napi_ok) {
    free(s); free(slab); close(fd);
    napi_throw_error(env, NULL, "open: out of memory");
    return NULL;
  }
  s->fd = fd;
  s->refs = 2;
  s->env = env;
  s->slab = slab;
  napi_value name, handle, resource;
  CHECK(napi_create_reference(env, argv[3], 1, &s->callback));
  CHECK(napi_create_string_utf8(env, "rackhand:udpbatch", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_object(env, &resource));
  CHECK(napi_async_init(env, resource, name, &s->async));
  if (uv_poll_init_socket(loop, &s->poll, fd) != 0) {
    close(fd); free(slab); free(s);
    napi_throw_error(env, NULL, "open: uv_poll_init failed");
    return NULL;
  }
  uv_poll_start(&s->poll, UV_READABLE, on_readable);
  CHECK(napi_create_external(env, s, finalize_handle, NULL, &handle));
  return handle;
}

static usock_t *handle_of(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || !p) { napi_throw_type_error(env, NULL, "not a udpbatch handle"); return NULL; }
  usock_t *s = p;
  if (s->closing) { napi_throw_error(env, "ERR_SOCKET_DGRAM_NOT_RUNNING", "socket is closed"); return NULL; }
  return s;
}

// The arguments of a call whose first one is a handle; NULL (an exception pending) if they are wrong.
static usock_t *handle_call(napi_env env, napi_callback_info info, size_t want, napi_value *argv, const char *usage) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  return handle_of(env, argv[0]);
}

static napi_value js_send(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  usock_t *s = handle_call(env, info, 5, argv, "send(handle, buf, meta, errs, start)");
  if (!s) return NULL;
  void *data; size_t len;
  CHECK(napi_get_buffer_info(env, argv[1], &data, &len));
  napi_typedarray_type t1, t2; size_t mlen, elen; void *mdata, *edata; napi_value ab; size_t boff;
  CHECK(napi_get_typedarray_info(env, argv[2], &t1, &mlen, &mdata, &ab, &boff));
  CHECK(napi_get_typedarray_info(env, argv[3], &t2, &elen, &edata, &ab, &boff));
  uint32_t start;
  CHECK(napi_get_value_uint32(env, argv[4], &start));
  if (t1 != napi_uint32_array || t2 != napi_int32_array || mlen % META || elen < mlen / META) {
    napi_throw_type_error(env, NULL, "send: meta must be a Uint32Array of [offset, length, address, port] and errs an Int32Array as long");
    return NULL;
  }
  const uint32_t *meta = mdata;
  int32_t *errs = edata;
  uint32_t count = (uint32_t)(mlen / META);
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_in to[BATCH];
  uint32_t i = start;
  while (i < count) {
    uint32_t n = count - i < BATCH ? count - i : BATCH;
    for (uint32_t k = 0; k < n; k++) {
      const uint32_t *m = meta + (size_t)(i + k) * META;
      if ((uint64_t)m[0] + m[1] > len) { napi_throw_range_error(env, NULL, "send: a datagram lies outside the buffer"); return NULL; }
      iov[k].iov_base = (char *)data + m[0];
      iov[k].iov_len = m[1];
      memset(&to[k], 0, sizeof to[k]);
      to[k].sin_family = AF_INET;
      to[k].sin_addr.s_addr = htonl(m[2]);
      to[k].sin_port = htons((uint16_t)m[3]);
      memset(&msgs[k], 0, sizeof msgs[k]);
      msgs[k].msg_hdr.msg_iov = &iov[k];
      msgs[k].msg_hdr.msg_iovlen = 1;
      msgs[k].msg_hdr.msg_name = &to[k];
      msgs[k].msg_hdr.msg_namelen = sizeof to[k];
    }
    int r = sendmmsg(s->fd, msgs, n, MSG_DONTWAIT);
    if (r > 0) {
      for (int k = 0; k < r; k++) errs[i + k] = 0;
      i += (uint32_t)r;
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break; // the caller retries from i on a later turn
    } else {
      // sendmmsg fails only on the first datagram of a call: that one is reported, the rest go on.
      errs[i] = r < 0 ? errno : EIO;
      i++;
    }
  }
  napi_value out;
  CHECK(napi_create_uint32(env, i, &out));
  return out;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *p = NULL;
  if (argc < 1 || napi_get_value_external(env, argv[0], &p) != napi_ok || !p) return NULL;
  usock_t *s = p;
  if (s->closing) return NULL;
  s->closing = 1;
  napi_delete_reference(env, s->callback);
  napi_async_destroy(env, s->async);
  uv_poll_stop(&s->poll);
  // Freed once both the uv handle has closed and the external has been collected.
  uv_close((uv_handle_t *)&s->poll, on_closed);
  return NULL;
}

static napi_value js_port(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  usock_t *s = handle_call(env, info, 1, argv, "port(handle)");
  if (!s) return NULL;
  struct sockaddr_in addr;
  socklen_t len = sizeof addr;
  if (getsockname(s->fd, (struct sockaddr *)&addr, &len) < 0) return throw_errno(env, "getsockname", errno);
  napi_value out;
  CHECK(napi_create_uint32(env, ntohs(addr.sin_port), &out));
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL },
    { "send", NULL, js_send, NULL, NULL, NULL, napi_default, NULL },
    { "close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL },
    { "port", NULL, js_port, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
