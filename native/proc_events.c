// rootwatch's process-event source: the kernel's process connector (NETLINK_CONNECTOR, CN_IDX_PROC),
// which multicasts fork/exec/uid/exit… events to a root listener. This addon only receives and
// decodes; every decision stays in TypeScript.
//
// A reader thread blocks in recv() and appends compact records to a bounded ring. When the ring is
// full, events are dropped and counted (never blocking the kernel or growing memory); ENOBUFS from
// the socket (the kernel dropped events because we were slow) is counted as an overrun. JavaScript
// is woken through a thread-safe function at most once per batch and drains the ring itself.
//
// A process can live for less time than it takes the JavaScript thread to wake, so for fork, exec
// and uid events the reader also copies, at once and raw, what the breakout detectors will read:
// /proc/<pid>/{status,cgroup,stat,cmdline}, the exe links of the process and its parent, and the
// namespace inode numbers. No parsing or judging here: TypeScript does all of that.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <node_api.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECORD_INTS 6            // type, pid, tgid, a, b, c
#define DEFAULT_CAPACITY 65536   // records
#define SNAP_CAPACITY 2048       // raw process snapshots (about 5 KiB each)

static const char *NS_KINDS[7] = {"mnt", "pid", "net", "ipc", "uts", "cgroup", "user"};

typedef struct {
  int32_t pid;
  uint32_t ns[7];  // inode numbers; 0 when unreadable
  uint16_t len_status, len_cgroup, len_stat, len_exe, len_pexe, len_cmdline;
  char status[1536];
  char cgroup[1536];
  char stat[512];
  char exe[256];
  char pexe[256];
  char cmdline[512];
} snap_t;

typedef struct {
  int fd;
  int wake_fd;  // eventfd: close() writes it so the reader leaves poll() (shutdown() does not wake netlink)
  pthread_t thread;
  int thread_started;
  atomic_int stop;
  pthread_mutex_t lock;
  int32_t *ring;
  uint32_t capacity, head, count;
  uint64_t dropped, overruns, received;
  // The connector numbers its messages per CPU: a gap in a CPU's sequence is events the kernel
  // dropped (ENOBUFS tells only that some were). Per-CPU last sequence numbers, indexed by cpu.
  uint32_t last_seq[1024];
  uint8_t seq_seen[1024];
  uint64_t lost;
  snap_t *snaps;
  uint32_t snap_head, snap_count;
  uint64_t snaps_dropped;
  atomic_int wake_pending;
  napi_threadsafe_function tsfn;
} source_t;

static source_t *g_src = NULL;

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, err == EPERM || err == EACCES ? "EPERM" : "EPROCEVENTS", msg);
  return NULL;
}

static void push(source_t *s, int32_t type, int32_t pid, int32_t tgid, int32_t a, int32_t b, int32_t c) {
  pthread_mutex_lock(&s->lock);
  if (s->count == s->capacity) {
    s->dropped++;
  } else {
    uint32_t slot = (s->head + s->count) % s->capacity;
    int32_t *r = s->ring + (size_t)slot * RECORD_INTS;
    r[0] = type; r[1] = pid; r[2] = tgid; r[3] = a; r[4] = b; r[5] = c;
    s->count++;
  }
  s->received++;
  pthread_mutex_unlock(&s->lock);
}

static uint16_t read_file(int32_t pid, const char *name, char *buf, size_t cap) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", pid, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, cap);
  close(fd);
  return n > 0 ? (uint16_t)n : 0;
}

static uint16_t read_link(int32_t pid, const char *name, char *buf, size_t cap) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", pid, name);
  ssize_t n = readlink(path, buf, cap);
  return n > 0 ? (uint16_t)n : 0;
}

// Does the cgroup text name a container (a run of 64 hex digits, as every Docker cgroup driver
// writes the id)? Only decides how much to copy: all judging happens in TypeScript.
static int names_container(const char *text, size_t n) {
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    char c = text[i];
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) {
      if (++run >= 64) return 1;
    } else {
      run = 0;
    }
  }
  return 0;
}

// Copy the raw facts of one process into the snapshot ring (the caller holds no lock). Reading
// /proc costs: a host process (most events) gets stat, cgroup, exe and cmdline, enough for the
// host-process checks; a process in a container's cgroup also gets status, the namespace inodes
// and its parent's exe.
static void capture(source_t *s, int32_t pid) {
  if (pid <= 0) return;
  snap_t *tmp = malloc(sizeof *tmp);
  if (!tmp) return;
  memset(tmp->ns, 0, sizeof tmp->ns);
  tmp->pid = pid;
  tmp->len_status = tmp->len_pexe = 0;
  tmp->len_stat = read_file(pid, "stat", tmp->stat, sizeof tmp->stat);
  if (tmp->len_stat == 0) { free(tmp); return; }  // already gone
  tmp->len_cgroup = read_file(pid, "cgroup", tmp->cgroup, sizeof tmp->cgroup);
  tmp->len_exe = read_link(pid, "exe", tmp->exe, sizeof tmp->exe);
  tmp->len_cmdline = read_file(pid, "cmdline", tmp->cmdline, sizeof tmp->cmdline);
  if (names_container(tmp->cgroup, tmp->len_cgroup)) {
    tmp->len_status = read_file(pid, "status", tmp->status, sizeof tmp->status);
    for (int i = 0; i < 7; i++) {
      char path[64];
      struct stat st;
      snprintf(path, sizeof path, "/proc/%d/ns/%s", pid, NS_KINDS[i]);
      tmp->ns[i] = stat(path, &st) == 0 ? (uint32_t)st.st_ino : 0;
    }
    // The parent's executable tells runc's own `runc init` from look-alikes; the parent may be gone
    // by the time JavaScript looks. Finding "PPid:" is copying, not judging.
    char *pp = memmem(tmp->status, tmp->len_status, "\nPPid:\t", 7);
    if (pp) {
      int32_t ppid = (int32_t)strtol(pp + 7, NULL, 10);
      if (ppid > 0) tmp->len_pexe = read_link(ppid, "exe", tmp->pexe, sizeof tmp->pexe);
    }
  }
  pthread_mutex_lock(&s->lock);
  if (s->snap_count == SNAP_CAPACITY) {
    s->snaps_dropped++;
  } else {
    s->snaps[(s->snap_head + s->snap_count) % SNAP_CAPACITY] = *tmp;
    s->snap_count++;
  }
  pthread_mutex_unlock(&s->lock);
  free(tmp);
}

static void decode(source_t *s, struct proc_event *ev) {
  switch (ev->what) {
    case PROC_EVENT_FORK:
      push(s, ev->what, ev->event_data.fork.child_pid, ev->event_data.fork.child_tgid,
           ev->event_data.fork.parent_pid, ev->event_data.fork.parent_tgid, 0);
      // New processes only (a new thread shares its process's namespaces and credentials). The child
      // starts as a copy of its parent, so its facts are the parent's at the moment of the fork
      // (after an nsenter's setns(), say): one copy serves both.
      if (ev->event_data.fork.child_pid == ev->event_data.fork.child_tgid) capture(s, ev->event_data.fork.child_tgid);
      break;
    case PROC_EVENT_EXEC:
      push(s, ev->what, ev->event_data.exec.process_pid, ev->event_data.exec.process_tgid, 0, 0, 0);
      capture(s, ev->event_data.exec.process_tgid);
      break;
    case PROC_EVENT_UID:
      push(s, ev->what, ev->event_data.id.process_pid, ev->event_data.id.process_tgid,
           (int32_t)ev->event_data.id.r.ruid, (int32_t)ev->event_data.id.e.euid, 0);
      capture(s, ev->event_data.id.process_tgid);
      break;
    case PROC_EVENT_EXIT:
      push(s, ev->what, ev->event_data.exit.process_pid, ev->event_data.exit.process_tgid,
           (int32_t)ev->event_data.exit.exit_code, 0, 0);
      break;
    case PROC_EVENT_NONE:
      break;  // the acknowledgement of our subscription
    default:
      push(s, ev->what, 0, 0, 0, 0, 0);  // counted by type in JS; not examined
      break;
  }
}

static void *reader(void *arg) {
  source_t *s = arg;
  char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
  while (!atomic_load(&s->stop)) {
    struct pollfd pfd[2] = {{.fd = s->fd, .events = POLLIN}, {.fd = s->wake_fd, .events = POLLIN}};
    if (poll(pfd, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (pfd[1].revents || atomic_load(&s->stop)) break;
    ssize_t n = recv(s->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      if (errno == ENOBUFS) {
        // The kernel dropped events: the socket buffer overflowed. JS falls back to a full scan.
        pthread_mutex_lock(&s->lock);
        s->overruns++;
        pthread_mutex_unlock(&s->lock);
        goto wake;
      }
      break;  // socket shut down (close) or a fatal error
    }
    for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n); nh = NLMSG_NEXT(nh, n)) {
      if (nh->nlmsg_type == NLMSG_NOOP || nh->nlmsg_type == NLMSG_ERROR) continue;
      struct cn_msg *cn = NLMSG_DATA(nh);
      if (cn->id.idx != CN_IDX_PROC || cn->id.val != CN_VAL_PROC) continue;
      struct proc_event *ev = (struct proc_event *)cn->data;
      if (ev->what != PROC_EVENT_NONE && ev->cpu < 1024) {
        uint32_t cpu = ev->cpu;
        if (s->seq_seen[cpu] && cn->seq > s->last_seq[cpu] + 1) {
          pthread_mutex_lock(&s->lock);
          s->lost += cn->seq - s->last_seq[cpu] - 1;
          pthread_mutex_unlock(&s->lock);
        }
        s->last_seq[cpu] = cn->seq;
        s->seq_seen[cpu] = 1;
      }
      decode(s, ev);
    }
  wake:
    if (!atomic_exchange(&s->wake_pending, 1)) napi_call_threadsafe_function(s->tsfn, NULL, napi_tsfn_nonblocking);
  }
  return NULL;
}

static void call_js(napi_env env, napi_value js_cb, void *ctx, void *data) {
  (void)ctx; (void)data;
  if (env == NULL || js_cb == NULL) return;
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  napi_call_function(env, undefined, js_cb, 0, NULL, NULL);
}

static int subscribe(int fd, enum proc_cn_mcast_op op) {
  char buf[NLMSG_SPACE(sizeof(struct cn_msg) + sizeof(enum proc_cn_mcast_op))] __attribute__((aligned(NLMSG_ALIGNTO)));
  memset(buf, 0, sizeof buf);
  struct nlmsghdr *nh = (struct nlmsghdr *)buf;
  nh->nlmsg_len = sizeof buf;
  nh->nlmsg_type = NLMSG_DONE;
  nh->nlmsg_pid = 0;
  struct cn_msg *cn = NLMSG_DATA(nh);
  cn->id.idx = CN_IDX_PROC;
  cn->id.val = CN_VAL_PROC;
  cn->len = sizeof(enum proc_cn_mcast_op);
  memcpy(cn->data, &op, sizeof op);
  return send(fd, buf, sizeof buf, 0) < 0 ? -1 : 0;
}

// open(onEvents: () => void, capacity?: number): void
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (g_src) { napi_throw_error(env, NULL, "process connector already open"); return NULL; }
  if (argc < 1) { napi_throw_type_error(env, NULL, "open(callback[, capacity])"); return NULL; }
  uint32_t capacity = DEFAULT_CAPACITY;
  if (argc > 1) napi_get_value_uint32(env, argv[1], &capacity);
  if (capacity < 64) capacity = 64;

  int fd = socket(PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
  if (fd < 0) return throw_errno(env, "socket(NETLINK_CONNECTOR)", errno);
  int rcvbuf = 4 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC, .nl_pid = 0};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { int e = errno; close(fd); return throw_errno(env, "bind(CN_IDX_PROC)", e); }
  if (subscribe(fd, PROC_CN_MCAST_LISTEN) < 0) { int e = errno; close(fd); return throw_errno(env, "PROC_CN_MCAST_LISTEN", e); }

  source_t *s = calloc(1, sizeof *s);
  if (!s) { close(fd); napi_throw_error(env, NULL, "out of memory"); return NULL; }
  s->ring = calloc((size_t)capacity * RECORD_INTS, sizeof(int32_t));
  s->snaps = calloc(SNAP_CAPACITY, sizeof(snap_t));
  if (!s->ring || !s->snaps) { close(fd); free(s->ring); free(s->snaps); free(s); napi_throw_error(env, NULL, "out of memory"); return NULL; }
  s->fd = fd;
  s->wake_fd = eventfd(0, EFD_CLOEXEC);
  s->capacity = capacity;
  pthread_mutex_init(&s->lock, NULL);
  napi_value name;
  napi_create_string_utf8(env, "rootwatch-proc-events", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[0], NULL, name, 1, 1, NULL, NULL, NULL, call_js, &s->tsfn) != napi_ok) {
    close(fd); free(s->ring); free(s); napi_throw_error(env, NULL, "cannot create thread-safe function"); return NULL;
  }
  // The reader thread must not keep the event loop alive by itself.
  napi_unref_threadsafe_function(env, s->tsfn);
  if (pthread_create(&s->thread, NULL, reader, s) != 0) {
    int e = errno; napi_release_threadsafe_function(s->tsfn, napi_tsfn_abort); close(fd); free(s->ring); free(s);
    return throw_errno(env, "pthread_create", e);
  }
  s->thread_started = 1;
  g_src = s;
  return NULL;
}

// drain(): { records: Int32Array, dropped, overruns, received }  (counters are cumulative)
static napi_value js_drain(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_object(env, &out);
  source_t *s = g_src;
  if (!s) return out;
  atomic_store(&s->wake_pending, 0);
  pthread_mutex_lock(&s->lock);
  uint32_t n = s->count;
  void *data = NULL;
  napi_value ab, arr;
  napi_create_arraybuffer(env, (size_t)n * RECORD_INTS * sizeof(int32_t), &data, &ab);
  for (uint32_t i = 0; i < n; i++) {
    uint32_t slot = (s->head + i) % s->capacity;
    memcpy((int32_t *)data + (size_t)i * RECORD_INTS, s->ring + (size_t)slot * RECORD_INTS, RECORD_INTS * sizeof(int32_t));
  }
  s->head = (s->head + n) % s->capacity;
  s->count = 0;
  double dropped = (double)s->dropped, overruns = (double)s->overruns, received = (double)s->received;
  double snaps_dropped = (double)s->snaps_dropped;
  double lost = (double)s->lost;
  uint32_t sn = s->snap_count;
  snap_t *copy = sn ? malloc((size_t)sn * sizeof(snap_t)) : NULL;
  if (copy) {
    for (uint32_t i = 0; i < sn; i++) copy[i] = s->snaps[(s->snap_head + i) % SNAP_CAPACITY];
    s->snap_head = (s->snap_head + sn) % SNAP_CAPACITY;
    s->snap_count = 0;
  } else {
    sn = 0;
  }
  pthread_mutex_unlock(&s->lock);
  napi_value snaps;
  napi_create_array_with_length(env, sn, &snaps);
  for (uint32_t i = 0; i < sn; i++) {
    snap_t *p = &copy[i];
    napi_value o, v, ns;
    napi_create_object(env, &o);
    napi_create_int32(env, p->pid, &v); napi_set_named_property(env, o, "pid", v);
    napi_create_array_with_length(env, 7, &ns);
    for (uint32_t k = 0; k < 7; k++) { napi_create_uint32(env, p->ns[k], &v); napi_set_element(env, ns, k, v); }
    napi_set_named_property(env, o, "ns", ns);
    // latin1: these are bytes (paths, comm) and must never fail to decode.
    napi_create_string_latin1(env, p->status, p->len_status, &v); napi_set_named_property(env, o, "status", v);
    napi_create_string_latin1(env, p->cgroup, p->len_cgroup, &v); napi_set_named_property(env, o, "cgroup", v);
    napi_create_string_latin1(env, p->stat, p->len_stat, &v); napi_set_named_property(env, o, "stat", v);
    napi_create_string_latin1(env, p->exe, p->len_exe, &v); napi_set_named_property(env, o, "exe", v);
    napi_create_string_latin1(env, p->pexe, p->len_pexe, &v); napi_set_named_property(env, o, "parentExe", v);
    napi_create_string_latin1(env, p->cmdline, p->len_cmdline, &v); napi_set_named_property(env, o, "cmdline", v);
    napi_set_element(env, snaps, i, o);
  }
  free(copy);
  napi_create_typedarray(env, napi_int32_array, (size_t)n * RECORD_INTS, ab, 0, &arr);
  napi_value v;
  napi_set_named_property(env, out, "records", arr);
  napi_create_double(env, dropped, &v); napi_set_named_property(env, out, "dropped", v);
  napi_create_double(env, overruns, &v); napi_set_named_property(env, out, "overruns", v);
  napi_create_double(env, received, &v); napi_set_named_property(env, out, "received", v);
  napi_set_named_property(env, out, "snapshots", snaps);
  napi_create_double(env, snaps_dropped, &v); napi_set_named_property(env, out, "snapshotsDropped", v);
  napi_create_double(env, lost, &v); napi_set_named_property(env, out, "lost", v);
  return out;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  (void)env; (void)info;
  source_t *s = g_src;
  if (!s) return NULL;
  g_src = NULL;
  atomic_store(&s->stop, 1);
  uint64_t one = 1;
  if (write(s->wake_fd, &one, sizeof one) < 0) { /* the reader also checks `stop` on every event */ }
  if (s->thread_started) pthread_join(s->thread, NULL);
  subscribe(s->fd, PROC_CN_MCAST_IGNORE);
  close(s->fd);
  close(s->wake_fd);
  napi_release_threadsafe_function(s->tsfn, napi_tsfn_abort);
  pthread_mutex_destroy(&s->lock);
  free(s->ring);
  free(s->snaps);
  free(s);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
    {"drain", NULL, js_drain, NULL, NULL, NULL, napi_default, NULL},
    {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, 3, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
