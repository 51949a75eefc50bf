// Connected sockets and runs of equal-size datagrams: what a TFTP transfer needs to put a whole
// window (RFC 7440) on the wire in one syscall instead of one per block.
//
// A run is `count` datagrams, datagram i being a prefix (prefixLen bytes: record
// (prefixStart + i) mod n of the `prefixes` table, n = its length / prefixLen) followed by the
// bytes data[offset + i·stride, +stride) — the last one only lastLen bytes. The addon does not know
// what the prefixes mean (for TFTP: the DATA header of each block number, built by TypeScript);
// it only gathers them (iovecs: no copy) and sends.
//
// With UDP GSO (UDP_SEGMENT, Linux 4.18+) the datagrams of a run are equal-size segments of one
// send: one trip through the stack for up to 64 datagrams. The kernel refuses it when the route's
// device cannot checksum for us (EIO) or a segment would not fit the path MTU (EINVAL): the socket
// then falls back to sendmmsg (one syscall, one trip per datagram) for good.
//
// The first datagram of a run leaves alone, as its own message ahead of the GSO group in the same
// sendmmsg: a GSO send reaches the peer's socket only once the kernel has cut the whole group, so
// the peer slept through all of it; with the first datagram ahead it wakes while the rest is cut,
// and reads it meanwhile. One windowed transfer (windowsize 16, atftp on the other core) went from
// 225 to 295 MB/s here, 64 at once unchanged (BENCHMARKS.md, bench/tftp, session 13).
//
//   connect(handle, address, port)                  throws "connect: E…"
//   write(handle, buf) → 0 or -errno                 one datagram to the connected peer
//   sendRun(handle, prefixes, prefixStart, prefixLen, data, offset, stride, count, lastLen)
//     → datagrams the kernel took (a short count: the socket buffer filled, EAGAIN/ENOBUFS), or
//       -errno when it took none (-EAGAIN, -ENOBUFS, -ECONNREFUSED after an ICMP error…).
#include "udpbatch.h"
#include <netinet/udp.h>
#include <string.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#define GSO_MAX_SEGMENTS 64
#define GSO_MAX_BYTES 65000 // under the 65,507 bytes of one UDP payload
#define RUN_MAX 256         // datagrams per sendmmsg call

napi_value js_connect(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  usock_t *s = handle_call(env, info, 3, argv, "connect(handle, address, port)");
  if (!s) return NULL;
  uint32_t address, port;
  CHECK(napi_get_value_uint32(env, argv[1], &address));
  CHECK(napi_get_value_uint32(env, argv[2], &port));
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr = { htonl(address) } };
  if (connect(s->fd, (struct sockaddr *)&to, sizeof to) < 0) return throw_errno(env, "connect", errno);
  return NULL;
}

napi_value js_write(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  usock_t *s = handle_call(env, info, 2, argv, "write(handle, buf)");
  if (!s) return NULL;
  void *data; size_t len;
  CHECK(napi_get_buffer_info(env, argv[1], &data, &len));
  ssize_t r;
  do r = send(s->fd, data, len, MSG_DONTWAIT); while (r < 0 && errno == EINTR);
  napi_value out;
  CHECK(napi_create_int32(env, r < 0 ? -errno : 0, &out));
  return out;
}

typedef struct {
  struct mmsghdr msgs[RUN_MAX];
  struct iovec iov[2 * RUN_MAX];
  union { char buf[CMSG_SPACE(sizeof(uint16_t))]; struct cmsghdr align; } ctl[RUN_MAX];
} run_t;

static run_t run; // JS thread only

// Sends datagrams [first, first + n) of the run as groups of `per` (one GSO send each when per > 1),
// datagram 0 of the run on its own (see above). Returns the datagrams sent, or -errno when none were.
static int send_groups(usock_t *s, const unsigned char *prefixes, uint32_t records, uint32_t prefix_start, uint32_t prefix_len,
                       const unsigned char *data, uint32_t stride, uint32_t count, uint32_t last_len, uint32_t first, uint32_t n, uint32_t per) {
  uint32_t msgs = 0, d = first;
  while (d < first + n) {
    uint32_t in_group = first + n - d < per ? first + n - d : per;
    if (d == 0) in_group = 1;
    struct msghdr *h = &run.msgs[msgs].msg_hdr;
    memset(h, 0, sizeof *h);
    h->msg_iov = &run.iov[2 * (d - first)];
    h->msg_iovlen = 2 * in_group;
    for (uint32_t k = 0; k < in_group; k++, d++) {
      struct iovec *v = &run.iov[2 * (d - first)];
      v[0].iov_base = (void *)(prefixes + (size_t)((prefix_start + d) % records) * prefix_len);
      v[0].iov_len = prefix_len;
      v[1].iov_base = (void *)(data + (size_t)d * stride);
      v[1].iov_len = d == count - 1 ? last_len : stride;
    }
    if (in_group > 1) {
      h->msg_control = run.ctl[msgs].buf;
      h->msg_controllen = CMSG_SPACE(sizeof(uint16_t));
      struct cmsghdr *c = CMSG_FIRSTHDR(h);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      uint16_t size = (uint16_t)(prefix_len + stride);
      memcpy(CMSG_DATA(c), &size, sizeof size);
    }
    run.msgs[msgs].msg_len = 0;
    msgs++;
  }
  int r;
  do r = sendmmsg(s->fd, run.msgs, msgs, MSG_DONTWAIT); while (r < 0 && errno == EINTR);
  if (r < 0) return -errno;
  uint32_t sent = 0;
  for (int m = 0; m < r; m++) sent += (uint32_t)run.msgs[m].msg_hdr.msg_iovlen / 2;
  return (int)sent;
}

napi_value js_send_run(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  usock_t *s = handle_call(env, info, 9, argv, "sendRun(handle, prefixes, prefixStart, prefixLen, data, offset, stride, count, lastLen)");
  if (!s) return NULL;
  void *pdata, *ddata; size_t plen, dlen;
  uint32_t prefix_start, prefix_len, offset, stride, count, last_len;
  CHECK(napi_get_buffer_info(env, argv[1], &pdata, &plen));
  CHECK(napi_get_value_uint32(env, argv[2], &prefix_start));
  CHECK(napi_get_value_uint32(env, argv[3], &prefix_len));
  CHECK(napi_get_buffer_info(env, argv[4], &ddata, &dlen));
  CHECK(napi_get_value_uint32(env, argv[5], &offset));
  CHECK(napi_get_value_uint32(env, argv[6], &stride));
  CHECK(napi_get_value_uint32(env, argv[7], &count));
  CHECK(napi_get_value_uint32(env, argv[8], &last_len));
  if (prefix_len == 0 || plen < prefix_len || last_len > stride || stride > 65535 ||
      (count > 0 && (uint64_t)offset + (uint64_t)stride * (count - 1) + last_len > dlen)) {
    napi_throw_range_error(env, NULL, "sendRun: the run lies outside its buffers");
    return NULL;
  }
  uint32_t records = (uint32_t)(plen / prefix_len);
  const unsigned char *data = (const unsigned char *)ddata + offset;
  uint32_t segment = prefix_len + stride;
  uint32_t sent = 0;
  int err = 0;
  while (sent < count) {
    uint32_t per = 1;
    if (s->gso && count - sent > 1) {
      per = GSO_MAX_BYTES / segment;
      if (per > GSO_MAX_SEGMENTS) per = GSO_MAX_SEGMENTS;
      if (per < 2) per = 1;
    }
    uint32_t n = count - sent;
    if (n > RUN_MAX) n = RUN_MAX;
    int r = send_groups(s, pdata, records, prefix_start, prefix_len, data, stride, count, last_len, sent, n, per);
    if (r < 0 && per > 1 && (r == -EIO || r == -EINVAL)) { s->gso = 0; continue; } // no GSO on this route
    if (r < 0) { err = -r; break; }
    // A short count: a later message of the call failed (sendmmsg drops its errno). The rest is
    // tried again at once, so a full socket buffer ends the loop with EAGAIN and a GSO refusal,
    // now the first message, falls back as above.
    sent += (uint32_t)r;
  }
  napi_value out;
  CHECK(napi_create_int32(env, sent == 0 && err ? -err : (int32_t)sent, &out));
  return out;
}
