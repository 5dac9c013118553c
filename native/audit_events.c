// rootwatch's kernel audit source (N-API, C): an optional second source beside the process connector.
//
// Why: a process that calls setns() into the host's namespaces, writes a host file and exits sends
// no process event (no fork, no exec); the connector's 250 ms namespace re-check misses it when it
// lives less than that. The audit subsystem reports the setns() itself, with the caller's pid.
//
// What it does, and what it leaves alone:
// - status(): AUDIT_GET (enabled, the registered audit daemon's pid, the kernel's lost count). It
//   never enables auditing and never registers as the audit daemon: that is auditd's job, and with no
//   daemon registered the kernel writes every record to its log.
// - addRules()/removeRules(): exit-filter rules for setns, unshare, mount, ptrace (attach and seize
//   only), init_module and finit_module (native arch, and i386 on x86_64), success only, keyed "rootwatch" so an operator
//   sees whose they are (auditctl -l). EEXIST means an identical rule is there already: not ours to
//   remove.
// - open(): a NETLINK_AUDIT socket bound to the read-only multicast group AUDIT_NLGRP_READLOG
//   (CAP_AUDIT_READ); auditd keeps its unicast stream. A reader thread takes each SYSCALL record
//   keyed rootwatch and reads the caller's /proc at once (namespaces first: an escape lives ~1 ms).
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <node_api.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#define ADDON_ERROR_CODE "EAUDIT"
#include "addon_util.h"

// From libaudit (not in the kernel's uapi headers).
#ifndef MAX_AUDIT_MESSAGE_LENGTH
#define MAX_AUDIT_MESSAGE_LENGTH 8970
#endif
#ifndef AUDIT_SUCCESS_YES
#define AUDIT_SUCCESS_YES 1
#endif
#ifndef AUDIT_NLGRP_READLOG
#define AUDIT_NLGRP_READLOG 1
#endif

#define KEY "rootwatch"
#define RING 1024
#define STOP_CHECK_MS 200
#define CAP_STATUS 4096
#define CAP_CGROUP 2048
#define CAP_STAT 1024
#define CAP_PATH 512
#define CAP_CMDLINE 1024
#define CAP_COMM 64
// At most this many records' /proc reads per second (a token bucket). A container with CAP_SYS_ADMIN
// can mount or setns in a loop (12,000 records/s here, ~80 us of reads each): without a budget that
// would take a core from the host at real-time priority. Beyond it records are counted (throttled),
// not read, and JS runs a full scan: a loss, never silence.
#define READ_BUDGET_PER_S 2000

static const char *NS_KINDS[7] = {"mnt", "pid", "net", "ipc", "uts", "cgroup", "user"};

typedef struct {
  int32_t pid, ppid;
  int32_t syscall_nr;
  uint32_t arch;
  uint8_t gone;  // the process had exited when the record was read
  uint32_t ns[7];
  uint16_t len_status, len_cgroup, len_stat, len_exe, len_pexe, len_cmdline, len_pcgroup, len_comm;
  char status[CAP_STATUS], cgroup[CAP_CGROUP], stat[CAP_STAT], exe[CAP_PATH], pexe[CAP_PATH], cmdline[CAP_CMDLINE];
  char pcgroup[CAP_CGROUP];  // the parent's cgroup, read only when the process was gone: whose loss it is
  char comm[CAP_COMM];
  // "dev:ino" of the executable and of the parent's (stat through /proc/<pid>/exe): what the runtime
  // exemption compares with the host's runc and shim binaries (runc's detached copy reads "/").
  char exe_id[48], pexe_id[48];
  uint16_t len_exe_id, len_pexe_id;
} record_t;

typedef struct {
  int fd;
  pthread_t thread;
  int thread_started;
  atomic_int stop;
  atomic_int wake_pending;
  int realtime;
  pthread_mutex_t lock;
  record_t *ring;
  uint32_t head, count;
  uint64_t records, matched, gone, ring_dropped, overruns, throttled;
  double tokens;
  struct timespec refill;
  napi_threadsafe_function tsfn;
  char buf[MAX_AUDIT_MESSAGE_LENGTH + NLMSG_HDRLEN + 64];
  record_t scratch;
  char line[MAX_AUDIT_MESSAGE_LENGTH + 1];
} source_t;

static source_t *g_src = NULL;

// ---- requests (status, rules): a short-lived unicast socket each ----

static int audit_request(int type, const void *data, size_t len, void *reply, size_t reply_len) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
  if (fd < 0) return -errno;
  struct timeval tv = {.tv_sec = 2};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  size_t total = NLMSG_SPACE(len);
  char *msg = calloc(1, total);
  if (!msg) { close(fd); return -ENOMEM; }
  struct nlmsghdr *nh = (struct nlmsghdr *)msg;
  nh->nlmsg_len = NLMSG_LENGTH(len);
  nh->nlmsg_type = (uint16_t)type;
  nh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  nh->nlmsg_seq = 1;
  if (len) memcpy(NLMSG_DATA(nh), data, len);
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  int rc = 0;
  if (sendto(fd, msg, total, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) rc = -errno;
  free(msg);
  // The kernel answers a request with its reply (AUDIT_GET) and/or an ack (NLMSG_ERROR, error 0).
  int got_reply = reply == NULL, got_ack = 0;
  char buf[8192];
  while (rc == 0 && !(got_reply && got_ack)) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) { rc = -errno; break; }
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr *e = NLMSG_DATA(h);
        if (e->error != 0) { rc = e->error; break; }
        got_ack = 1;
      } else if (h->nlmsg_type == type && reply) {
        size_t plen = h->nlmsg_len - NLMSG_HDRLEN;
        memcpy(reply, NLMSG_DATA(h), plen < reply_len ? plen : reply_len);
        got_reply = 1;
      }
    }
    if (got_reply && type == AUDIT_GET) break;  // AUDIT_GET's ack may come before or not at all
  }
  close(fd);
  return rc;
}

static napi_value js_status(napi_env env, napi_callback_info info) {
  (void)info;
  struct audit_status st;
  memset(&st, 0, sizeof st);
  int rc = audit_request(AUDIT_GET, NULL, 0, &st, sizeof st);
  if (rc < 0) return throw_errno(env, "AUDIT_GET", -rc);
  napi_value out, v;
  napi_create_object(env, &out);
  napi_create_uint32(env, st.enabled, &v); napi_set_named_property(env, out, "enabled", v);
  napi_create_uint32(env, st.pid, &v); napi_set_named_property(env, out, "pid", v);
  napi_create_double(env, (double)st.lost, &v); napi_set_named_property(env, out, "lost", v);
  napi_create_uint32(env, st.backlog_limit, &v); napi_set_named_property(env, out, "backlogLimit", v);
  return out;
}

// The syscalls an escape or a module load goes through, per architecture: one rule for setns,
// unshare, mount and the module loads, and ptrace only for PTRACE_ATTACH and PTRACE_SEIZE (argument
// 0): every other ptrace request of a debugger or strace in a container would be a record each.
#define PTRACE_ATTACH_REQ 16
#define PTRACE_SEIZE_REQ 0x4206
typedef struct { uint32_t arch; const char *name; int nrs[5]; int ptrace_nr; } rule_arch_t;
static const rule_arch_t RULE_ARCHES[] = {
#if defined(__x86_64__)
  {AUDIT_ARCH_X86_64, "b64", {308 /*setns*/, 272 /*unshare*/, 165 /*mount*/, 175 /*init_module*/, 313 /*finit_module*/}, 101},
  // 32-bit processes (an i386 binary in a container) enter through the compat table.
  {AUDIT_ARCH_I386, "b32", {346, 310, 21, 128, 350}, 26},
#elif defined(__aarch64__)
  {AUDIT_ARCH_AARCH64, "b64", {SYS_setns, SYS_unshare, SYS_mount, SYS_init_module, SYS_finit_module}, SYS_ptrace},
#endif
};
#define N_ARCHES (sizeof RULE_ARCHES / sizeof RULE_ARCHES[0])
// Per arch: the main rule, then ptrace attach, then ptrace seize.
#define RULES_PER_ARCH 3
static const char *RULE_SUFFIX[RULES_PER_ARCH] = {"", "-ptrace-attach", "-ptrace-seize"};

static struct audit_rule_data *build_rule(const rule_arch_t *a, int which, size_t *len) {
  size_t keylen = strlen(KEY);
  *len = sizeof(struct audit_rule_data) + keylen;
  struct audit_rule_data *r = calloc(1, *len);
  if (!r) return NULL;
  r->flags = AUDIT_FILTER_EXIT;
  r->action = AUDIT_ALWAYS;
  int f = 0;
  r->fields[f] = AUDIT_ARCH; r->values[f] = a->arch; r->fieldflags[f] = AUDIT_EQUAL; f++;
  if (which == 0) {
    for (int i = 0; i < 5; i++) r->mask[a->nrs[i] / 32] |= 1U << (a->nrs[i] % 32);
  } else {
    r->mask[a->ptrace_nr / 32] |= 1U << (a->ptrace_nr % 32);
    r->fields[f] = AUDIT_ARG0; r->values[f] = which == 1 ? PTRACE_ATTACH_REQ : PTRACE_SEIZE_REQ; r->fieldflags[f] = AUDIT_EQUAL; f++;
  }
  // Failed calls change nothing: only successful ones are recorded (fewer records, same escapes).
  r->fields[f] = AUDIT_SUCCESS; r->values[f] = AUDIT_SUCCESS_YES; r->fieldflags[f] = AUDIT_EQUAL; f++;
  r->fields[f] = AUDIT_FILTERKEY; r->values[f] = (uint32_t)keylen; r->fieldflags[f] = AUDIT_EQUAL; f++;
  r->field_count = (uint32_t)f;
  r->buflen = (uint32_t)keylen;
  memcpy(r->buf, KEY, keylen);
  return r;
}

static void rule_name(size_t arch, int which, char *out, size_t cap) {
  snprintf(out, cap, "%s%s", RULE_ARCHES[arch].name, RULE_SUFFIX[which]);
}

// addRules(): [{arch: "b64"|"b64-ptrace-attach"|..., outcome: "added"|"present"}]; throws on any
// other refusal (after removing what it added in this call).
static napi_value js_add_rules(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_array_with_length(env, N_ARCHES * RULES_PER_ARCH, &out);
  uint32_t k = 0;
  for (size_t i = 0; i < N_ARCHES; i++) {
    for (int w = 0; w < RULES_PER_ARCH; w++) {
      size_t len;
      struct audit_rule_data *r = build_rule(&RULE_ARCHES[i], w, &len);
      if (!r) return throw_errno(env, "addRules", ENOMEM);
      int rc = audit_request(AUDIT_ADD_RULE, r, len, NULL, 0);
      free(r);
      if (rc < 0 && rc != -EEXIST) return throw_errno(env, "AUDIT_ADD_RULE", -rc);
      char name[32];
      rule_name(i, w, name, sizeof name);
      napi_value o, v;
      napi_create_object(env, &o);
      napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &v); napi_set_named_property(env, o, "arch", v);
      napi_create_string_utf8(env, rc == -EEXIST ? "present" : "added", NAPI_AUTO_LENGTH, &v); napi_set_named_property(env, o, "outcome", v);
      napi_set_element(env, out, k++, o);
    }
  }
  return out;
}

// removeRules(["b64", ...]): deletes those of our rules; returns how many the kernel still had.
static napi_value js_remove_rules(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint32_t n = 0, removed = 0;
  if (argc < 1 || napi_get_array_length(env, argv[0], &n) != napi_ok) { napi_throw_type_error(env, NULL, "removeRules(rules: string[])"); return NULL; }
  for (uint32_t j = 0; j < n; j++) {
    napi_value el;
    char want[32] = {0};
    size_t got = 0;
    if (napi_get_element(env, argv[0], j, &el) != napi_ok || napi_get_value_string_utf8(env, el, want, sizeof want, &got) != napi_ok) continue;
    for (size_t i = 0; i < N_ARCHES; i++) {
      for (int w = 0; w < RULES_PER_ARCH; w++) {
        char name[32];
        rule_name(i, w, name, sizeof name);
        if (strcmp(name, want) != 0) continue;
        size_t len;
        struct audit_rule_data *r = build_rule(&RULE_ARCHES[i], w, &len);
        if (!r) continue;
        // ENOENT: someone (auditctl -D, auditd's restart loading its rules) removed it already.
        if (audit_request(AUDIT_DEL_RULE, r, len, NULL, 0) == 0) removed++;
        free(r);
      }
    }
  }
  napi_value v;
  napi_create_uint32(env, removed, &v);
  return v;
}

// ---- the listener ----

// A field of the record's text, e.g. " pid=123": the leading space keeps "ppid=" from matching "pid=".
static const char *field(const char *text, const char *name) {
  const char *p = strstr(text, name);
  return p ? p + strlen(name) : NULL;
}

static void read_comm(const char *text, char *out, uint16_t *len) {
  // comm="name", or hex when it holds a space, a quote or a control character (the kernel's
  // audit_log_untrustedstring): a container cannot forge other fields through it.
  const char *p = field(text, " comm=");
  *len = 0;
  if (!p) return;
  const char *end = p;
  if (*p == '"') { p++; end = strchr(p, '"'); } else { end = strchr(p, ' '); }
  if (!end) end = p + strlen(p);
  size_t n = (size_t)(end - p);
  if (n >= CAP_COMM) n = CAP_COMM - 1;
  memcpy(out, p, n);
  *len = (uint16_t)n;
}

static void take(source_t *s, const char *text) {
  // Only our rules' records: key="rootwatch" is the record's last field, and the strings before it
  // that a process controls (comm, exe) are quoted only when they hold no quote or space.
  const char *key = strstr(text, " key=\"" KEY "\"");
  if (!key) return;
  const char *pid_s = field(text, " pid="), *ppid_s = field(text, " ppid="), *sys_s = field(text, " syscall="), *arch_s = field(text, " arch=");
  if (!pid_s || !sys_s) return;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  s->tokens += ((double)(now.tv_sec - s->refill.tv_sec) + (double)(now.tv_nsec - s->refill.tv_nsec) / 1e9) * READ_BUDGET_PER_S;
  if (s->tokens > READ_BUDGET_PER_S) s->tokens = READ_BUDGET_PER_S;
  s->refill = now;
  if (s->tokens < 1) {
    pthread_mutex_lock(&s->lock);
    s->matched++;
    s->throttled++;
    pthread_mutex_unlock(&s->lock);
    return;
  }
  s->tokens -= 1;
  record_t *r = &s->scratch;
  r->pid = (int32_t)strtol(pid_s, NULL, 10);
  r->ppid = ppid_s ? (int32_t)strtol(ppid_s, NULL, 10) : 0;
  r->syscall_nr = (int32_t)strtol(sys_s, NULL, 10);
  r->arch = arch_s ? (uint32_t)strtoul(arch_s, NULL, 16) : 0;
  r->gone = 0;
  r->len_pcgroup = 0;
  read_comm(text, r->comm, &r->len_comm);
  int dir = open_pid_dir(r->pid);
  memset(r->ns, 0, sizeof r->ns);
  r->len_status = r->len_cgroup = r->len_stat = r->len_exe = r->len_pexe = r->len_cmdline = 0;
  r->len_exe_id = r->len_pexe_id = 0;
  if (dir >= 0) {
    // Namespaces first: they are what an escape changes, and the process may exit any moment.
    for (int k = 0; k < 7; k++) {
      struct stat st;
      char name[16];
      snprintf(name, sizeof name, "ns/%s", NS_KINDS[k]);
      if (fstatat(dir, name, &st, 0) == 0) r->ns[k] = (uint32_t)st.st_ino;
    }
    r->len_stat = read_file(dir, "stat", r->stat, CAP_STAT);
    r->len_cgroup = read_file(dir, "cgroup", r->cgroup, CAP_CGROUP);
    r->len_status = read_file(dir, "status", r->status, CAP_STATUS);
    r->len_exe = read_link_at(dir, "exe", r->exe, CAP_PATH);
    r->len_exe_id = file_id_at(dir, "exe", r->exe_id, sizeof r->exe_id);
    r->len_cmdline = read_file(dir, "cmdline", r->cmdline, CAP_CMDLINE);
    close(dir);
  } else {
    r->gone = 1;
  }
  if (r->len_stat == 0 || r->ns[0] == 0) r->gone = 1;
  if (r->ppid > 0) {
    int pdir = open_pid_dir(r->ppid);
    if (pdir >= 0) {
      r->len_pexe = read_link_at(pdir, "exe", r->pexe, CAP_PATH);
      r->len_pexe_id = file_id_at(pdir, "exe", r->pexe_id, sizeof r->pexe_id);
      if (r->gone) r->len_pcgroup = read_file(pdir, "cgroup", r->pcgroup, CAP_CGROUP);
      close(pdir);
    }
  }
  pthread_mutex_lock(&s->lock);
  s->matched++;
  if (r->gone) s->gone++;
  if (s->count < RING) {
    s->ring[(s->head + s->count) % RING] = *r;
    s->count++;
  } else {
    s->ring_dropped++;
  }
  pthread_mutex_unlock(&s->lock);
}

static void *reader(void *arg) {
  source_t *s = arg;
  // As the connector's reader: an escape's /proc must be read before it exits, so run ahead of
  // ordinary work (SCHED_RR 1) where allowed, else nice -10, else the default.
  pthread_setname_np(pthread_self(), "rw-audit");
  struct sched_param rt = {.sched_priority = 1};
  s->realtime = pthread_setschedparam(pthread_self(), SCHED_RR, &rt) == 0;
  if (!s->realtime && setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), -10) != 0) { /* keep the default */ }
  while (!atomic_load(&s->stop)) {
    ssize_t n = recv(s->fd, s->buf, sizeof s->buf - 1, 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      if (errno == ENOBUFS) {
        pthread_mutex_lock(&s->lock);
        s->overruns++;
        pthread_mutex_unlock(&s->lock);
        if (!atomic_exchange(&s->wake_pending, 1)) napi_call_threadsafe_function(s->tsfn, NULL, napi_tsfn_nonblocking);
        continue;
      }
      break;
    }
    int urgent = 0;
    // One datagram is one record. Its nlmsg_len is not trusted beyond what was received: the
    // kernel's audit records have carried lengths that disagree with the payload.
    struct nlmsghdr *h = (struct nlmsghdr *)s->buf;
    if ((size_t)n < NLMSG_HDRLEN) continue;
    s->records++;
    if (h->nlmsg_type == AUDIT_SYSCALL) {
      size_t plen = (size_t)n - NLMSG_HDRLEN;
      if (h->nlmsg_len >= NLMSG_HDRLEN && h->nlmsg_len - NLMSG_HDRLEN < plen) plen = h->nlmsg_len - NLMSG_HDRLEN;
      if (plen > MAX_AUDIT_MESSAGE_LENGTH) plen = MAX_AUDIT_MESSAGE_LENGTH;
      memcpy(s->line, NLMSG_DATA(h), plen);
      s->line[plen] = 0;
      uint64_t before = s->matched;
      take(s, s->line);
      if (s->matched != before) urgent = 1;
    }
    if (urgent && !atomic_exchange(&s->wake_pending, 1)) napi_call_threadsafe_function(s->tsfn, NULL, napi_tsfn_nonblocking);
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

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (g_src) { napi_throw_error(env, NULL, "audit listener already open"); return NULL; }
  if (argc < 1) { napi_throw_type_error(env, NULL, "open(callback[, procRoot])"); return NULL; }
  if (!proc_root_arg(env, argc > 1 ? argv[1] : NULL)) return NULL;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
  if (fd < 0) return throw_errno(env, "socket(NETLINK_AUDIT)", errno);
  // Read-only multicast: the kernel sends a copy of every record to this group beside its unicast
  // delivery to auditd; binding needs CAP_AUDIT_READ, and nothing here can change audit state.
  struct sockaddr_nl addr = {.nl_family = AF_NETLINK, .nl_groups = 1U << (AUDIT_NLGRP_READLOG - 1)};
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) { int e = errno; close(fd); return throw_errno(env, "bind(AUDIT_NLGRP_READLOG)", e); }
  int rcvbuf = 4 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  struct timeval tv = {.tv_sec = 0, .tv_usec = STOP_CHECK_MS * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  source_t *s = calloc(1, sizeof *s);
  if (!s) { close(fd); napi_throw_error(env, NULL, "out of memory"); return NULL; }
  s->ring = calloc(RING, sizeof(record_t));
  if (!s->ring) { close(fd); free(s); napi_throw_error(env, NULL, "out of memory"); return NULL; }
  s->fd = fd;
  s->tokens = READ_BUDGET_PER_S;
  clock_gettime(CLOCK_MONOTONIC, &s->refill);
  pthread_mutex_init(&s->lock, NULL);
  napi_value name;
  napi_create_string_utf8(env, "rootwatch-audit", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[0], NULL, name, 1, 1, NULL, NULL, NULL, call_js, &s->tsfn) != napi_ok) {
    close(fd); free(s->ring); free(s); napi_throw_error(env, NULL, "cannot create thread-safe function"); return NULL;
  }
  napi_unref_threadsafe_function(env, s->tsfn);
  if (pthread_create(&s->thread, NULL, reader, s) != 0) {
    int e = errno; napi_release_threadsafe_function(s->tsfn, napi_tsfn_abort); close(fd); free(s->ring); free(s);
    return throw_errno(env, "pthread_create", e);
  }
  s->thread_started = 1;
  g_src = s;
  return NULL;
}

static napi_value js_drain(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_object(env, &out);
  source_t *s = g_src;
  if (!s) return out;
  atomic_store(&s->wake_pending, 0);
  pthread_mutex_lock(&s->lock);
  uint32_t n = s->count;
  record_t *copy = n ? malloc((size_t)n * sizeof(record_t)) : NULL;
  if (copy) {
    for (uint32_t i = 0; i < n; i++) copy[i] = s->ring[(s->head + i) % RING];
    s->head = (s->head + n) % RING;
    s->count = 0;
  } else {
    n = 0;
  }
  uint64_t records = s->records, matched = s->matched, gone = s->gone, dropped = s->ring_dropped, overruns = s->overruns, throttled = s->throttled;
  pthread_mutex_unlock(&s->lock);
  napi_value arr;
  napi_create_array_with_length(env, n, &arr);
  for (uint32_t i = 0; i < n; i++) {
    record_t *r = &copy[i];
    napi_value o, v, ns;
    napi_create_object(env, &o);
    set_number(env, o, "pid", r->pid);
    set_number(env, o, "ppid", r->ppid);
    set_number(env, o, "syscall", r->syscall_nr);
    set_number(env, o, "arch", r->arch);
    napi_get_boolean(env, r->gone, &v); napi_set_named_property(env, o, "gone", v);
    napi_create_array_with_length(env, 7, &ns);
    for (uint32_t k = 0; k < 7; k++) { napi_create_uint32(env, r->ns[k], &v); napi_set_element(env, ns, k, v); }
    napi_set_named_property(env, o, "ns", ns);
    set_string(env, o, "comm", r->comm, r->len_comm);
    set_string(env, o, "status", r->status, r->len_status);
    set_string(env, o, "cgroup", r->cgroup, r->len_cgroup);
    set_string(env, o, "stat", r->stat, r->len_stat);
    set_string(env, o, "exe", r->exe, r->len_exe);
    set_string(env, o, "parentExe", r->pexe, r->len_pexe);
    set_string(env, o, "exeId", r->exe_id, r->len_exe_id);
    set_string(env, o, "parentExeId", r->pexe_id, r->len_pexe_id);
    set_string(env, o, "parentCgroup", r->pcgroup, r->len_pcgroup);
    set_string(env, o, "cmdline", r->cmdline, r->len_cmdline);
    napi_set_element(env, arr, i, o);
  }
  free(copy);
  napi_set_named_property(env, out, "records", arr);
  set_number(env, out, "received", (double)records);
  set_number(env, out, "matched", (double)matched);
  set_number(env, out, "gone", (double)gone);
  set_number(env, out, "ringDropped", (double)dropped);
  set_number(env, out, "overruns", (double)overruns);
  set_number(env, out, "throttled", (double)throttled);
  napi_value rtv;
  napi_get_boolean(env, s->realtime, &rtv);
  napi_set_named_property(env, out, "realtimeReader", rtv);
  return out;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  (void)env; (void)info;
  source_t *s = g_src;
  if (!s) return NULL;
  g_src = NULL;
  atomic_store(&s->stop, 1);
  if (s->thread_started) pthread_join(s->thread, NULL);
  close(s->fd);
  napi_release_threadsafe_function(s->tsfn, napi_tsfn_abort);
  pthread_mutex_destroy(&s->lock);
  free(s->ring);
  free(s);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"status", NULL, js_status, NULL, NULL, NULL, napi_default, NULL},
    {"addRules", NULL, js_add_rules, NULL, NULL, NULL, napi_default, NULL},
    {"removeRules", NULL, js_remove_rules, NULL, NULL, NULL, napi_default, NULL},
    {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
    {"drain", NULL, js_drain, NULL, NULL, NULL, napi_default, NULL},
    {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
