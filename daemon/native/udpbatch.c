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
// Memory: received datagrams land in one slab per socket (batch × slot bytes, allocated at open).
// By default each batch is copied into one new JS Buffer (one allocation per batch, not per packet)
// with a Uint32Array of [offset, length, IPv4 address, port] per datagram. In shared mode (TFTP
// transfer sockets: an ACK is read and forgotten within the call) the callback gets views of the
// slab and of one meta array, the same two objects every time: no allocation at all per batch.
//
// API (JS thread only):
//   open(port, ifindex, rcvbuf, onBatch(buf, meta, n), address = 0, shared = false, batch = 64, slot = 4096)
//       → handle (throws "open: EADDRINUSE" etc.). address: IPv4 as a number (0: any). n < 0 is
//       -errno of a socket error (ICMP port unreachable on a connected socket: ECONNREFUSED).
//   send(handle, buf, meta, errs, start) → next index           meta as above, errs Int32Array:
//       0 sent, else the errno of that datagram. Stops early (returns < count) only on EAGAIN.
//   connect(handle, address, port), write(handle, buf) → 0 or -errno, and
//   sendRun(handle, …) for windows of equal-size datagrams: see udpconn.c.
//   close(handle)
//   port(handle) → the bound port (for port 0)
#include "udpbatch.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH 64
#define SLOT 4096

#ifndef SO_BINDTOIFINDEX
#define SO_BINDTOIFINDEX 62
#endif

napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[96];
  snprintf(msg, sizeof msg, "%s: %s", what, strerrorname_np(err) ? strerrorname_np(err) : "errno");
  napi_throw_error(env, strerrorname_np(err), msg);
  return NULL;
}

static void call_js(usock_t *s, int argc, napi_value *argv) {
  napi_env env = s->env;
  napi_value cb, recv, result;
  if (napi_get_reference_value(env, s->callback, &cb) != napi_ok) return;
  if (napi_get_global(env, &recv) != napi_ok) return; // make_callback wants an object
  // make_callback: nextTicks and promise jobs queued by the handler run before we return.
  if (napi_make_callback(env, s->async, recv, cb, (size_t)argc, argv, &result) == napi_pending_exception) {
    napi_value exc;
    if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
  }
}

static void fill_meta(usock_t *s, uint32_t *meta, int i, size_t off) {
  meta[i * META + 0] = (uint32_t)off;
  meta[i * META + 1] = s->msgs[i].msg_len;
  meta[i * META + 2] = ntohl(s->from[i].sin_addr.s_addr);
  meta[i * META + 3] = ntohs(s->from[i].sin_port);
}

// One crossing into JS for the datagrams in msgs[0..n), or for a socket error (n = -errno).
static void deliver(usock_t *s, int n) {
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value argv[3];
  if (napi_create_int32(env, n, &argv[2]) != napi_ok) goto out;
  if (n < 0) {
    if (napi_get_undefined(env, &argv[0]) != napi_ok) goto out;
    argv[1] = argv[0];
  } else if (s->shared) {
    for (int i = 0; i < n; i++) fill_meta(s, s->meta, i, (size_t)i * s->slot);
    if (napi_get_reference_value(env, s->slab_ref, &argv[0]) != napi_ok) goto out;
    if (napi_get_reference_value(env, s->meta_ref, &argv[1]) != napi_ok) goto out;
  } else {
    size_t total = 0;
    for (int i = 0; i < n; i++) total += s->msgs[i].msg_len;
    void *data = NULL;
    napi_value meta_ab;
    uint32_t *meta_data = NULL;
    if (napi_create_buffer(env, total ? total : 1, &data, &argv[0]) != napi_ok) goto out;
    if (napi_create_arraybuffer(env, (size_t)n * META * 4, (void **)&meta_data, &meta_ab) != napi_ok) goto out;
    if (napi_create_typedarray(env, napi_uint32_array, (size_t)n * META, meta_ab, 0, &argv[1]) != napi_ok) goto out;
    size_t off = 0;
    for (int i = 0; i < n; i++) {
      memcpy((char *)data + off, s->slab + (size_t)i * s->slot, s->msgs[i].msg_len);
      fill_meta(s, meta_data, i, off);
      off += s->msgs[i].msg_len;
    }
  }
  call_js(s, 3, argv);
out:
  napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  usock_t *s = (usock_t *)handle;
  if (s->closing) return;
  if (status < 0) {
    // libuv stops a poll handle on POLLERR: a connected socket got an ICMP error (the client
    // closed its port). Read and clear the error, tell JS, and keep polling.
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err) deliver(s, -err);
    if (!s->closing) uv_poll_start(&s->poll, UV_READABLE, on_readable);
    return;
  }
  if (!(events & UV_READABLE)) return;
  // A few batches per wake-up at most, so a flood cannot starve the rest of the loop.
  for (int round = 0; round < 4 && !s->closing; round++) {
    for (int i = 0; i < s->batch; i++) {
      s->iov[i].iov_base = s->slab + (size_t)i * s->slot;
      s->iov[i].iov_len = (size_t)s->slot;
      memset(&s->msgs[i].msg_hdr, 0, sizeof s->msgs[i].msg_hdr);
      s->msgs[i].msg_hdr.msg_iov = &s->iov[i];
      s->msgs[i].msg_hdr.msg_iovlen = 1;
      s->msgs[i].msg_hdr.msg_name = &s->from[i];
      s->msgs[i].msg_hdr.msg_namelen = sizeof s->from[i];
      s->msgs[i].msg_len = 0;
    }
    int n = recvmmsg(s->fd, s->msgs, (unsigned)s->batch, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      // ECONNREFUSED and the like (a connected socket's pending ICMP error): JS decides.
      if (errno != EAGAIN && errno != EWOULDBLOCK) deliver(s, -errno);
      return;
    }
    if (n == 0) return;
    deliver(s, n);
    if (n < s->batch) return;
  }
}

static void release(usock_t *s) {
  if (--s->refs == 0) {
    if (!s->shared) free(s->slab); // shared: JS owns it
    free(s->msgs); free(s->iov); free(s->from); free(s);
  }
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

static int open_fd(uint32_t address, uint32_t port, uint32_t ifindex, uint32_t rcvbuf, const char **step) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) { *step = "socket"; return -1; }
  int one = 1;
  int size = (int)rcvbuf;
  *step = NULL;
  // Only for a well-known port: with SO_REUSEADDR two sockets bound to port 0 may be given the same
  // port, and a TFTP transfer socket must have one of its own (RFC 1350 TIDs).
  if (port && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) *step = "SO_REUSEADDR";
  else if (ifindex && setsockopt(fd, SOL_SOCKET, SO_BINDTOIFINDEX, &ifindex, sizeof ifindex) < 0) *step = "SO_BINDTOIFINDEX";
  else if (setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) < 0) *step = "SO_BROADCAST";
  // Past net.core.rmem_max with CAP_NET_ADMIN; the ordinary (capped) size otherwise.
  else if (size && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0 &&
           setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) < 0) *step = "SO_RCVBUF";
  if (!*step) {
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr = { htonl(address) } };
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) *step = "bind";
  }
  if (*step) { int err = errno; close(fd); errno = err; return -1; }
  return fd;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) { napi_throw_type_error(env, NULL, "open(port, ifindex, rcvbuf, onBatch, address, shared, batch, slot)"); return NULL; }
  uint32_t port, ifindex, rcvbuf, address = 0, batch = BATCH, slot = SLOT;
  bool shared = false;
  CHECK(napi_get_value_uint32(env, argv[0], &port));
  CHECK(napi_get_value_uint32(env, argv[1], &ifindex));
  CHECK(napi_get_value_uint32(env, argv[2], &rcvbuf));
  if (argc > 4) CHECK(napi_get_value_uint32(env, argv[4], &address));
  if (argc > 5) CHECK(napi_get_value_bool(env, argv[5], &shared));
  if (argc > 6) CHECK(napi_get_value_uint32(env, argv[6], &batch));
  if (argc > 7) CHECK(napi_get_value_uint32(env, argv[7], &slot));
  if (batch < 1 || batch > 1024 || slot < 4 || slot > 65536) { napi_throw_range_error(env, NULL, "open: batch 1–1024, slot 4–65536"); return NULL; }
  const char *step;
  int fd = open_fd(address, port, ifindex, rcvbuf, &step);
  if (fd < 0) return throw_errno(env, step, errno);

  usock_t *s = calloc(1, sizeof *s);
  uv_loop_t *loop = NULL;
  napi_value slab_buf, meta_ab, meta_arr;
  if (s) {
    s->batch = (int)batch;
    s->slot = (int)slot;
    s->shared = shared;
    s->msgs = calloc(batch, sizeof *s->msgs);
    s->iov = calloc(batch, sizeof *s->iov);
    s->from = calloc(batch, sizeof *s->from);
    if (shared) {
      // The slab and the meta array live in JS memory (their backing stores never move), held
      // by references for the socket's life: the callback gets these same objects each time.
      void *data = NULL;
      if (napi_create_buffer(env, (size_t)batch * slot, &data, &slab_buf) == napi_ok &&
          napi_create_arraybuffer(env, (size_t)batch * META * 4, (void **)&s->meta, &meta_ab) == napi_ok &&
          napi_create_typedarray(env, napi_uint32_array, (size_t)batch * META, meta_ab, 0, &meta_arr) == napi_ok &&
          napi_create_reference(env, slab_buf, 1, &s->slab_ref) == napi_ok &&
          napi_create_reference(env, meta_arr, 1, &s->meta_ref) == napi_ok) s->slab = data;
    } else {
      s->slab = malloc((size_t)batch * slot);
    }
  }
  if (!s || !s->slab || !s->msgs || !s->iov || !s->from || napi_get_uv_event_loop(env, &loop) != napi_ok) {
    if (s) { if (!s->shared) free(s->slab); free(s->msgs); free(s->iov); free(s->from); }
    free(s); close(fd);
    napi_throw_error(env, NULL, "open: out of memory");
    return NULL;
  }
  s->fd = fd;
  s->refs = 2;
  s->env = env;
  s->gso = 1;
  napi_value name, handle, resource;
  CHECK(napi_create_reference(env, argv[3], 1, &s->callback));
  CHECK(napi_create_string_utf8(env, "rackhand:udpbatch", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_object(env, &resource));
  CHECK(napi_async_init(env, resource, name, &s->async));
  if (uv_poll_init_socket(loop, &s->poll, fd) != 0) {
    close(fd); if (!s->shared) free(s->slab); free(s->msgs); free(s->iov); free(s->from); free(s);
    napi_throw_error(env, NULL, "open: uv_poll_init failed");
    return NULL;
  }
  uv_poll_start(&s->poll, UV_READABLE, on_readable);
  CHECK(napi_create_external(env, s, finalize_handle, NULL, &handle));
  return handle;
}

usock_t *handle_of(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || !p) { napi_throw_type_error(env, NULL, "not a udpbatch handle"); return NULL; }
  usock_t *s = p;
  if (s->closing) { napi_throw_error(env, "ERR_SOCKET_DGRAM_NOT_RUNNING", "socket is closed"); return NULL; }
  return s;
}

// The arguments of a call whose first one is a handle; NULL (an exception pending) if they are wrong.
usock_t *handle_call(napi_env env, napi_callback_info info, size_t want, napi_value *argv, const char *usage) {
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
  if (s->shared) { napi_delete_reference(env, s->slab_ref); napi_delete_reference(env, s->meta_ref); }
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
    { "connect", NULL, js_connect, NULL, NULL, NULL, napi_default, NULL },
    { "write", NULL, js_write, NULL, NULL, NULL, napi_default, NULL },
    { "sendRun", NULL, js_send_run, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
