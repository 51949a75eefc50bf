// Zero-copy file → socket for the HTTP image server: sendfile(2), which Node does not expose.
//
// Why this exists: serving a disk image through user space costs two copies per byte (page cache
// → buffer → socket); nginx's sendfile costs none, and bench/http measured the difference
// (BENCHMARKS.md). No maintained npm package does this, so it is written here, small.
//
// How it stays safe beside libuv, which owns the socket:
// - Every transfer works on its own dup() of the socket and of the file. Node may close its
//   descriptors at any moment (a client reset, a timeout); ours stay valid, so a descriptor
//   number reused by a later open() can never receive file data. The connection lives until the
//   transfer ends or is cancelled and our duplicate is closed.
// - One engine thread with its own epoll set (not libuv's) waits for the sockets to become
//   writable (edge-triggered) and calls sendfile until EAGAIN, so a slow client holds nothing
//   but its own socket buffer; thousands of transfers share the one thread.
// - Results go back to the JS thread through a thread-safe function; a job's memory is freed
//   only there, after its callback ran. The engine never touches a job it has handed back.
//
// API (main thread only): send(socketFd, fileFd, offset, count, cb(err, sent)) → id;
// cancel(id). err is null or an errno name ("EPIPE", "ECANCELED") or "ESHORT" (file ended early).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#define ESHORT_CODE (-1)

typedef struct job {
  struct job *next;       // in engine.active, under engine.lock
  uint32_t id;
  int out;                // our duplicate of the socket
  int in;                 // our duplicate of the file
  off_t offset;
  uint64_t remaining;
  uint64_t sent;
  int error;              // 0, an errno, or ESHORT_CODE
  int cancelled;          // set by the JS thread, under engine.lock
  napi_ref callback;      // JS thread only
} job_t;

static struct {
  pthread_mutex_t lock;
  job_t *active;
  int epfd;
  int wakefd;
  int started;
  uint32_t next_id;
  napi_threadsafe_function done;
} engine = { PTHREAD_MUTEX_INITIALIZER, NULL, -1, -1, 0, 1, NULL };

static int is_active(job_t *j) {
  int found = 0;
  pthread_mutex_lock(&engine.lock);
  for (job_t *k = engine.active; k; k = k->next) if (k == j) { found = 1; break; }
  pthread_mutex_unlock(&engine.lock);
  return found;
}

static void unlink_job(job_t *j) {
  pthread_mutex_lock(&engine.lock);
  for (job_t **p = &engine.active; *p; p = &(*p)->next) {
    if (*p == j) { *p = j->next; break; }
  }
  pthread_mutex_unlock(&engine.lock);
}

// Engine thread: the job is over; hand it back. After this call the engine forgets it.
static void finish(job_t *j) {
  int off = 0; // uncorked: the last partial segment leaves now
  setsockopt(j->out, IPPROTO_TCP, TCP_CORK, &off, sizeof off);
  epoll_ctl(engine.epfd, EPOLL_CTL_DEL, j->out, NULL);
  close(j->out);
  close(j->in);
  unlink_job(j);
  napi_call_threadsafe_function(engine.done, j, napi_tsfn_blocking);
}

// Engine thread: send until the socket is full (wait for the next edge), done, or broken.
static void pump(job_t *j) {
  while (j->remaining > 0) {
    size_t chunk = j->remaining > (1u << 30) ? (1u << 30) : (size_t)j->remaining;
    ssize_t n = sendfile(j->out, j->in, &j->offset, chunk);
    if (n > 0) { j->sent += (uint64_t)n; j->remaining -= (uint64_t)n; continue; }
    if (n == 0) { j->error = ESHORT_CODE; break; }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return;
    j->error = errno;
    break;
  }
  finish(j);
}

static void cancel_marked(void) {
  for (;;) {
    job_t *victim = NULL;
    pthread_mutex_lock(&engine.lock);
    for (job_t *k = engine.active; k; k = k->next) if (k->cancelled) { victim = k; break; }
    pthread_mutex_unlock(&engine.lock);
    if (!victim) return;
    victim->error = ECANCELED;
    finish(victim);
  }
}

static void *engine_main(void *unused) {
  (void)unused;
  struct epoll_event events[64];
  for (;;) {
    int n = epoll_wait(engine.epfd, events, 64, -1);
    if (n < 0) { if (errno == EINTR) continue; return NULL; }
    for (int i = 0; i < n; i++) {
      if (events[i].data.ptr == NULL) {
        uint64_t v;
        while (read(engine.wakefd, &v, sizeof v) < 0 && errno == EINTR) {}
        cancel_marked();
      }
    }
    for (int i = 0; i < n; i++) {
      job_t *j = events[i].data.ptr;
      // A job cancelled above (or its memory, already reused) is no longer ours to touch.
      if (j != NULL && is_active(j)) pump(j);
    }
  }
}

// JS thread: a job came back; tell its callback and free it.
static void call_back(napi_env env, napi_value unused, void *context, void *data) {
  (void)unused; (void)context;
  job_t *j = data;
  if (env != NULL) {
    napi_value cb, global, argv[2];
    napi_get_reference_value(env, j->callback, &cb);
    napi_get_global(env, &global);
    if (j->error == 0) napi_get_null(env, &argv[0]);
    else {
      const char *name = j->error == ESHORT_CODE ? "ESHORT" : strerrorname_np(j->error);
      napi_create_string_utf8(env, name ? name : "EIO", NAPI_AUTO_LENGTH, &argv[0]);
    }
    napi_create_double(env, (double)j->sent, &argv[1]);
    napi_call_function(env, global, cb, 2, argv, NULL);
    napi_delete_reference(env, j->callback);
  }
  free(j);
}

static napi_value throw_errno(napi_env env, const char *what) {
  char msg[160];
  snprintf(msg, sizeof msg, "sendfile engine: %s: %s", what, strerror(errno));
  napi_throw_error(env, strerrorname_np(errno), msg);
  return NULL;
}

static int start_engine(napi_env env) {
  if (engine.started) return 0;
  engine.epfd = epoll_create1(EPOLL_CLOEXEC);
  if (engine.epfd < 0) return -1;
  engine.wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (engine.wakefd < 0) return -1;
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
  if (epoll_ctl(engine.epfd, EPOLL_CTL_ADD, engine.wakefd, &ev) < 0) return -1;
  napi_value name;
  napi_create_string_utf8(env, "rackhand-sendfile", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, NULL, call_back, &engine.done) != napi_ok) {
    errno = EINVAL;
    return -1;
  }
  // The HTTP server keeps the loop alive while it serves; this must not keep it alive alone.
  napi_unref_threadsafe_function(env, engine.done);
  pthread_t thread;
  if (pthread_create(&thread, NULL, engine_main, NULL) != 0) return -1;
  pthread_detach(thread);
  engine.started = 1;
  return 0;
}

static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t sock, file;
  double offset, count;
  napi_valuetype cbtype;
  if (argc < 5 || napi_get_value_int32(env, argv[0], &sock) != napi_ok || napi_get_value_int32(env, argv[1], &file) != napi_ok ||
      napi_get_value_double(env, argv[2], &offset) != napi_ok || napi_get_value_double(env, argv[3], &count) != napi_ok ||
      napi_typeof(env, argv[4], &cbtype) != napi_ok || cbtype != napi_function || offset < 0 || count < 0) {
    napi_throw_type_error(env, NULL, "send(socketFd, fileFd, offset, count, callback)");
    return NULL;
  }
  if (start_engine(env) < 0) return throw_errno(env, "start");
  job_t *j = calloc(1, sizeof *j);
  if (!j) return throw_errno(env, "calloc");
  j->out = fcntl(sock, F_DUPFD_CLOEXEC, 0);
  j->in = j->out < 0 ? -1 : fcntl(file, F_DUPFD_CLOEXEC, 0);
  if (j->out < 0 || j->in < 0) {
    int saved = errno;
    if (j->out >= 0) close(j->out);
    free(j);
    errno = saved;
    return throw_errno(env, "dup");
  }
  j->offset = (off_t)offset;
  j->remaining = (uint64_t)count;
  // Corked, the kernel sends only full segments until the end (nginx's tcp_nopush): Node's
  // sockets are TCP_NODELAY, and without the cork one download ran at 0.66x nginx's, 0.97x with.
  int on = 1;
  setsockopt(j->out, IPPROTO_TCP, TCP_CORK, &on, sizeof on);
  napi_create_reference(env, argv[4], 1, &j->callback);
  pthread_mutex_lock(&engine.lock);
  j->id = engine.next_id++;
  j->next = engine.active;
  engine.active = j;
  pthread_mutex_unlock(&engine.lock);
  uint32_t id = j->id;
  // From here the engine may run and finish the job at once: j is not touched again below.
  struct epoll_event ev = { .events = EPOLLOUT | EPOLLET, .data.ptr = j };
  if (epoll_ctl(engine.epfd, EPOLL_CTL_ADD, j->out, &ev) < 0) {
    int saved = errno;
    unlink_job(j);
    close(j->out);
    close(j->in);
    napi_delete_reference(env, j->callback);
    free(j);
    errno = saved;
    return throw_errno(env, "epoll_ctl");
  }
  napi_value result;
  napi_create_uint32(env, id, &result);
  return result;
}

static napi_value js_cancel(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint32_t id;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_uint32(env, argv[0], &id) != napi_ok) {
    napi_throw_type_error(env, NULL, "cancel(id)");
    return NULL;
  }
  int found = 0;
  pthread_mutex_lock(&engine.lock);
  for (job_t *k = engine.active; k; k = k->next) if (k->id == id) { k->cancelled = 1; found = 1; break; }
  pthread_mutex_unlock(&engine.lock);
  if (found) {
    uint64_t one = 1;
    while (write(engine.wakefd, &one, sizeof one) < 0 && errno == EINTR) {}
  }
  napi_value result;
  napi_get_boolean(env, found, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
    { "send", NULL, js_send, NULL, NULL, NULL, napi_enumerable, NULL },
    { "cancel", NULL, js_cancel, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  napi_define_properties(env, exports, 2, props);
  return exports;
}
