// rootwatch's process-event source: the kernel's process connector (NETLINK_CONNECTOR, CN_IDX_PROC),
// which multicasts fork/exec/uid/exit… events to a root listener. This addon only receives, filters
// and copies; every decision about a process stays in TypeScript.
//
// A process can live for less time than it takes the JavaScript thread to wake, so for fork, exec
// and uid events a reader thread copies, at once and raw, what the breakout detectors will read:
// /proc/<pid>/{status,cgroup,stat,cmdline}, the exe links of the process and its parent, and the
// namespace inode numbers, into a bounded ring. No parsing or judging here.
//
// Cost must follow container processes, not every exec on the host. So the reader copies only what a
// detector could flag: processes whose cgroup names a container (a run of 64 hex digits), and host
// processes whose exe or command line mention one of the storage prefixes TypeScript hands over
// (setFilter: Docker's data root). It keeps a verdict per pid so that host processes cost little
// (see source_t.verdict). Every other event is only counted by type. JavaScript is woken (through a
// thread-safe function, at most once per batch) only when there is a copy to judge or a loss to
// recover from; it reads the counters on its own timer and at each scrape.
//
// Losses are counted, never blocking the kernel or growing memory: a full copy ring, events the
// kernel dropped when the socket buffer was full (ENOBUFS, then the socket's drop counter), and
// container processes that exited before they could be read and that nothing vouches for
// (gone_unvouched()). Every RECHECK_MS the reader also re-reads the namespaces of the container
// processes it has read (recheck()): a setns() without exec or fork sends no event.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <node_api.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <dirent.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <time.h>
#include <sys/mman.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#define ADDON_ERROR_CODE "EPROCEVENTS"
#include "addon_util.h"

#define SNAP_CAPACITY 2048       // raw process snapshots (about 5 KiB each)
#define SNAP_KEEP 64             // slots kept resident after a burst (see js_drain)
#define SNAP_BYTES ((size_t)SNAP_CAPACITY * sizeof(snap_t))
#define MAX_PREFIXES 64
#define RECV_BATCH 64            // messages per recvmmsg()
#define RECV_BUF 1024            // one connector message is under 100 bytes
#define STOP_CHECK_MS 100        // the reader looks at `stop` at least this often
#define READER_NICE -10
#define READER_RT_PRIORITY 1
#define MAX_VERDICT_PIDS 4194304 // the kernel's largest pid_max

// What the last look at a pid found, or what its lineage says (see source_t.verdict).
enum {
  VERDICT_UNKNOWN = 0,        // never looked at (or forgotten): read in full
  VERDICT_PLAIN = 1,          // host process, no storage named, not started by a runtime
  VERDICT_WATCHED = 2,        // in a container's cgroup, or names container storage: copied
  VERDICT_RUNTIME = 3,        // runs a container runtime or shim (runc, crun, containerd-shim, conmon…)
  VERDICT_RUNTIME_CHILD = 4,  // forked by one: may yet be moved into a container's cgroup
  VERDICT_HELPER = 5,         // a kernel helper (kthreadd's child) naming storage, or its descendant: copied
  VERDICT_STORAGE = 6,        // a host process that names container storage: copied
  VERDICT_LINEAGE = 7,        // was a container process, or descends from one, and is in no container's
                              // cgroup now: copied in full like one (TypeScript attributes it by lineage)
};
// EV_RECHECK: a container process whose namespaces changed since its last copy, found by the
// periodic re-check (setns without exec or fork sends no event).
enum { EV_FORK, EV_EXEC, EV_UID, EV_RECHECK };
#define RECHECK_MS 500  // how often the namespaces of cached container processes are read again
#define KTHREADD_PID 2
#define MAX_RUNTIMES 64

// Event types counted one by one, in this order; anything else counts as "other".
#define N_TYPES 10
static const uint32_t TYPE_CODES[N_TYPES - 1] = {PROC_EVENT_FORK, PROC_EVENT_EXEC, PROC_EVENT_UID, PROC_EVENT_GID, PROC_EVENT_SID,
                                                 PROC_EVENT_PTRACE, PROC_EVENT_COMM, PROC_EVENT_COREDUMP, PROC_EVENT_EXIT};
static const char *TYPE_NAMES[N_TYPES] = {"fork", "exec", "uid", "gid", "sid", "ptrace", "comm", "coredump", "exit", "other"};

static const char *NS_KINDS[7] = {"mnt", "pid", "net", "ipc", "uts", "cgroup", "user"};

typedef struct {
  int32_t pid;
  int32_t event;   // EV_FORK, EV_EXEC, EV_UID or EV_RECHECK: what the copy was taken for
  uint32_t ns[7];  // inode numbers; 0 when unreadable
  uint16_t len_status, len_cgroup, len_stat, len_exe, len_pexe, len_cmdline, len_exe_id, len_pexe_id, len_storage_dir;
  char exe_id[48];   // "dev:ino" of the executable (stat follows memfd, deleted and detached files)
  char storage_dir[48];  // "dev:ino" of the container storage directory on the exe's path, if any
  char pexe_id[48];  // the same for the parent's, when its exe was copied
  char status[1536];
  char cgroup[1536];
  char stat[512];
  char exe[256];
  char pexe[256];
  char cmdline[512];
} snap_t;

#define NS_CACHE_SLOTS 32768  // 88 bytes each, touched as used
#define NS_CACHE_BYTES (NS_CACHE_SLOTS * sizeof(ns_entry_t))
#define VOUCHED_SLOTS 8

typedef struct {
  int32_t pid;
  uint32_t ns[7];
  // The state the detectors last judged this process in (its full copy, or its parent's for a fork
  // child taken as a copy), for exec_unchanged(): effective capabilities, root directory and working
  // directory. `judged` is cleared whenever the pid or the namespaces of the slot change.
  uint8_t judged;
  uint64_t cap_eff;
  uint64_t cap_prm;  // permitted: what its effective set can ever hold without an exec
  uint64_t root_dev, root_ino, cwd_dev, cwd_ino;
} ns_entry_t;

typedef struct {
  int fd;
  pthread_t thread;
  int thread_started;
  atomic_int stop;
  pthread_mutex_t lock;  // guards everything below that drain() reads
  uint64_t counts[N_TYPES];
  uint64_t overruns, received;
  // fork/exec/uid events: copied; host process with nothing to judge; container fork child just
  // like its parent's last copy; already gone
  uint64_t copied, skipped, unchanged, gone;
  // Losses among the gone: a container process (or a runtime's child) that exited before it could
  // be read and whose namespaces nothing else vouches for (see examine()); a plain container fork
  // child whose parent still sits in the namespaces it was copied in is gone, not lost.
  uint64_t lost_exited;
  // Execs and uid changes of container processes read before, gone before this event was read.
  uint64_t lost_exec_unread;
  // The periodic namespace re-check: passes, processes read, processes copied because they moved.
  uint64_t recheck_passes, recheck_reads, recheck_moved;
  uint64_t recheck_cpu_ns;  // the reader thread's CPU time spent in re-checks
  uint64_t ns_cached;       // slots of the namespace cache in use after the last re-check pass
  struct timespec next_recheck;  // reader thread only
  int want_realtime;  // open()'s choice; tests of the overrun path turn it off
  int realtime;       // the reader thread runs SCHED_RR (set once by it, read by drain)
  uint64_t batch;  // reader thread only: received batches, for the memo below
  // Reader thread only: parents found unmoved in this batch (a child of theirs read in their cached
  // namespaces, or they themselves re-read), a few at a time for storms from several workers.
  struct { int32_t pid; uint64_t batch; } vouched[VOUCHED_SLOTS];
  uint32_t vouched_next;
  // Events the kernel dropped because the socket buffer was full: the socket's drop counter, read
  // from /proc/net/netlink after each overrun (ENOBUFS only says that some were). The connector's
  // per-CPU sequence numbers cannot tell: with the exit filter below they skip on purpose.
  uint64_t lost;
  unsigned long inode;  // of the socket, to find it in /proc/net/netlink
  int congested;        // reader thread only: an overrun is not yet accounted for
  // Reader thread only: the last receive emptied the socket's queue (fewer than RECV_BATCH, or none):
  // every event of a process that had exited before then has been handled.
  int caught_up;
  int exits;            // exit events subscribed (kernels before 6.6 cannot filter them out)
  snap_t *snaps;
  uint32_t snap_head, snap_count;
  uint32_t snap_hwm;  // highest slot written since the last trim (its pages are resident)
  uint64_t snaps_dropped;
  int urgent;  // reader thread only: this batch has something for JavaScript (a copy, a loss)
  snap_t scratch;  // reader thread only
  // A verdict per pid (reader thread only), so that host processes cost little. Reading /proc is
  // the whole cost (even the lookup of a new pid takes ~15 us of CPU on a VM), and most events are
  // host processes forking and execing. A PLAIN process is a host process whose exe and command line
  // name no storage prefix and that no container runtime started:
  // - its fork children and uid changes are PLAIN too, read not at all (a child starts as a copy);
  // - its execs read exe and command line, not the cgroup (~25 us on a cgroup v1 host): only a
  //   runtime moves a process into a container's cgroup, and a runtime's children are never PLAIN.
  // Everything else is read in full. Kernel helpers (children of kthreadd) are read at their exec.
  // Forgotten when a pid exits, when the filter changes and after lost events. A host process that
  // host root moves into a container's cgroup by hand stays PLAIN here; the periodic scan, which
  // reads every container's cgroup, finds it.
  uint8_t *verdict;
  uint32_t verdict_cap;
  atomic_int forget_verdicts;
  // Set once the host's namespaces are known: the reader then seeds the namespace cache (and so the
  // re-check) with the container processes that were already running (seed_existing()).
  atomic_int seed_pending;
  int seed_requested;  // JS thread only
  uint64_t seeded;
  // The namespaces of the last full copy of each container process (direct-mapped by pid; a slot
  // holds one pid, a miss means a full read). A fork child whose namespaces are those of its
  // parent's last copy is that copy again (a child starts as a copy of its parent): it is not
  // copied, unless that copy already sat in one of the host's namespaces (an escaped parent's
  // children are judged one by one). Reading 7 namespace links costs a third of a full copy, and
  // forks are half of a container's events. Reader thread only.
  ns_entry_t *ns_cache;
  uint64_t ns_used[NS_CACHE_SLOTS / 64];  // which slots of ns_cache hold (or held) a pid: the re-check walks these
  struct mmsghdr msgs[RECV_BATCH];
  struct iovec iovs[RECV_BATCH];
  char bufs[RECV_BATCH][RECV_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
  atomic_int wake_pending;
  napi_threadsafe_function tsfn;
} source_t;

static source_t *g_src = NULL;

// The per-pid tables (verdicts, namespace cache) are mappings of their own, not malloc's: their
// pages are zero until touched and are handed back when emptied (anon_zero(), release_free_pages()).
// A fork storm touches pages all over them; in glibc's heap they stayed resident for good (issue 14:
// +2 to +5 MiB after a 20,000-fork storm).
static void *anon_alloc(size_t bytes) {
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

static void anon_free(void *p, size_t bytes) {
  if (p) munmap(p, bytes);
}

// Zero a table: its pages go back to the system (zero again when next touched).
static void anon_zero(void *p, size_t bytes) {
  if (p && madvise(p, bytes, MADV_DONTNEED) != 0) memset(p, 0, bytes);
}


static void count(source_t *s, uint32_t what) {
  int i = 0;
  while (i < N_TYPES - 1 && TYPE_CODES[i] != what) i++;
  pthread_mutex_lock(&s->lock);
  s->counts[i]++;
  s->received++;
  pthread_mutex_unlock(&s->lock);
}

// The filter from TypeScript: storage prefixes and runtime executable names. Set from the JS thread,
// read by the reader thread.
static pthread_mutex_t g_filter_lock = PTHREAD_MUTEX_INITIALIZER;
static char *g_prefixes[MAX_PREFIXES];
static size_t g_prefix_len[MAX_PREFIXES];
static int g_nprefixes = 0;
static char *g_runtimes[MAX_RUNTIMES];
static int g_nruntimes = 0;
static uint32_t g_host_ns[7];  // the host's reference namespaces (NS_KINDS order); 0 = unknown
#define MAX_DEVICES 256
static dev_t g_devices[MAX_DEVICES];  // containers' root filesystem devices (overlay mounts)
static int g_ndevices = 0;
#define MAX_STORAGE_DIRS 4096
typedef struct { uint64_t dev, ino; } file_id_t;
static file_id_t g_storage_dirs[MAX_STORAGE_DIRS];  // containers' storage directories (upper, lower…)
static int g_nstorage_dirs = 0;

// Is this directory one of the containers' storage directories? Fills `out` with it when so.
static int storage_dir_id(const struct stat *st, file_id_t *out) {
  int hit = 0;
  pthread_mutex_lock(&g_filter_lock);
  for (int i = 0; i < g_nstorage_dirs && !hit; i++) {
    hit = g_storage_dirs[i].dev == (uint64_t)st->st_dev && g_storage_dirs[i].ino == (uint64_t)st->st_ino;
    if (hit) *out = g_storage_dirs[i];
  }
  pthread_mutex_unlock(&g_filter_lock);
  return hit;
}

// Does a storage directory lie on this device? Only then is an executable's path walked.
static int storage_device(dev_t dev) {
  int hit = 0;
  pthread_mutex_lock(&g_filter_lock);
  for (int i = 0; i < g_nstorage_dirs && !hit; i++) hit = g_storage_dirs[i].dev == (uint64_t)dev;
  pthread_mutex_unlock(&g_filter_lock);
  return hit;
}

// A host process running a container's file through a path that names no storage and no container
// device: a bind mount of an upper or lower directory elsewhere on the host (/mnt/x/bin/sh). The
// directories of its exe path, resolved in the process's own root (/proc/<pid>/root/…), are compared
// with the storage directories by identity, from the innermost up (at most 64 levels). Writes the
// matched directory as "dev:ino" into `out`; returns its length, 0 when none. Reader thread only.
static uint16_t storage_dir_on_path(int dir, const char *exe, size_t len, char *out, size_t cap) {
  char path[5 + 256];
  if (len == 0 || exe[0] != '/' || len >= 256) return 0;
  memcpy(path, "root", 4);
  memcpy(path + 4, exe, len);
  path[4 + len] = 0;
  for (int depth = 0; depth < 64; depth++) {
    char *slash = strrchr(path + 4, '/');
    if (!slash || slash == path + 4) return 0;  // reached "/": not walked (the host's root)
    *slash = 0;
    struct stat st;
    if (fstatat(dir, path, &st, 0) != 0) return 0;
    file_id_t id;
    if (storage_dir_id(&st, &id)) {
      int n = snprintf(out, cap, "%llu:%llu", (unsigned long long)id.dev, (unsigned long long)id.ino);
      return n > 0 && (size_t)n < cap ? (uint16_t)n : 0;
    }
  }
  return 0;
}

// Is this st_dev a container's root filesystem? A host process running a container's binary through
// /proc/<pid>/root/… has an exe path that names no storage ("/bin/sh"); its device does.
static int container_device(dev_t dev) {
  int hit = 0;
  pthread_mutex_lock(&g_filter_lock);
  for (int i = 0; i < g_ndevices && !hit; i++) hit = g_devices[i] == dev;
  pthread_mutex_unlock(&g_filter_lock);
  return hit;
}

// Is this exe (a /proc/<pid>/exe link) a container runtime or shim? Any memfd executable counts too
// (runc runs its `init` from a memfd copy), as does "/" (runc 1.1's detached bind-mount copy).
static int is_runtime_exe(const char *exe, size_t len) {
  char name[256];
  if (len == 0 || len >= sizeof name) return 0;
  memcpy(name, exe, len);
  name[len] = 0;
  if (strncmp(name, "/memfd:", 7) == 0 || strcmp(name, "/") == 0) return 1;
  char *deleted = strstr(name, " (deleted)");
  if (deleted && deleted[10] == 0) *deleted = 0;
  const char *base = strrchr(name, '/');
  base = base ? base + 1 : name;
  int hit = 0;
  pthread_mutex_lock(&g_filter_lock);
  for (int i = 0; i < g_nruntimes && !hit; i++) hit = strcmp(base, g_runtimes[i]) == 0;
  pthread_mutex_unlock(&g_filter_lock);
  return hit;
}

// Do these bytes (an exe path, a NUL-separated command line) contain a storage prefix anywhere?
// A superset of what the host-process detectors look for; they decide.
static int mentions_prefix(const char *exe, size_t exe_len, const char *cmd, size_t cmd_len) {
  int hit = 0;
  pthread_mutex_lock(&g_filter_lock);
  for (int i = 0; i < g_nprefixes && !hit; i++) {
    hit = memmem(exe, exe_len, g_prefixes[i], g_prefix_len[i]) != NULL || memmem(cmd, cmd_len, g_prefixes[i], g_prefix_len[i]) != NULL;
  }
  pthread_mutex_unlock(&g_filter_lock);
  return hit;
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

static uint8_t verdict_of(source_t *s, int32_t pid) {
  return pid > 0 && (uint32_t)pid < s->verdict_cap ? s->verdict[pid] : VERDICT_UNKNOWN;
}

static void set_verdict(source_t *s, int32_t pid, uint8_t v) {
  if (pid > 0 && (uint32_t)pid < s->verdict_cap) s->verdict[pid] = v;
}

// The inode number of one namespace link ("mnt:[4026531840]"), 0 when unreadable. readlinkat()
// formats the number the kernel holds; fstatat() would follow the link into nsfs, which costs twice
// as much (2.5 against 5 us per link on the reference VM), and this runs at every container fork and
// for every cached process at each re-check.
static uint32_t ns_inode_at(int dir, int kind) {
  char path[16], link[64];
  snprintf(path, sizeof path, "ns/%s", NS_KINDS[kind]);
  ssize_t n = readlinkat(dir, path, link, sizeof link - 1);
  if (n <= 0) return 0;
  link[n] = 0;
  const char *open_bracket = memchr(link, '[', (size_t)n);
  return open_bracket ? (uint32_t)strtoul(open_bracket + 1, NULL, 10) : 0;
}

static void read_namespaces(int dir, uint32_t ns[7]) {
  for (int i = 0; i < 7; i++) ns[i] = ns_inode_at(dir, i);
}

// The cache is open-addressed: a pid lives in one of NS_PROBES slots from its home slot, so that on a
// host whose pids go past NS_CACHE_SLOTS (pid_max is 4194304 on most) two live container processes
// whose pids share a home slot are both cached, and both re-checked. Lookups look at every probe
// (a forgotten slot is 0 and leaves no hole to stop at).
#define NS_PROBES 8

// The slot holding pid (or -pid: exited, kept for its queued events), else its home slot (whose pid
// then differs: callers check). NULL without a cache.
static ns_entry_t *ns_slot(source_t *s, int32_t pid) {
  if (!s->ns_cache) return NULL;
  uint32_t home = (uint32_t)pid % NS_CACHE_SLOTS;
  for (uint32_t i = 0; i < NS_PROBES; i++) {
    ns_entry_t *e = &s->ns_cache[(home + i) % NS_CACHE_SLOTS];
    if (e->pid == pid || e->pid == -pid) return e;
  }
  return &s->ns_cache[home];
}

// A slot for pid: its own, else the first free one among its probes (never used or forgotten, then
// one of an exited process, then one whose process is gone), else NULL: every probe holds a live
// container process, which keeps its place (a fork storm's short-lived children would otherwise push
// the long-lived processes out of the cache, and with them out of the periodic re-check). The
// newcomer is then read in full at each event.
static ns_entry_t *ns_claim(source_t *s, int32_t pid) {
  if (!s->ns_cache) return NULL;
  ns_entry_t *e = ns_slot(s, pid);
  if (e->pid == pid || e->pid == -pid) return e;
  uint32_t home = (uint32_t)pid % NS_CACHE_SLOTS;
  for (int pass = 0; pass < 2; pass++) {
    for (uint32_t i = 0; i < NS_PROBES; i++) {
      uint32_t at = (home + i) % NS_CACHE_SLOTS;
      e = &s->ns_cache[at];
      if (e->pid == 0 || (pass == 1 && (e->pid < 0 || kill(e->pid, 0) != 0))) {
        s->ns_used[at / 64] |= 1ULL << (at % 64);
        return e;
      }
    }
  }
  return NULL;
}

// Are the namespaces the detectors judge (mnt, pid, net, ipc, uts) all readable? A process that is
// exiting loses its namespace links before its /proc directory goes.
static int ns_complete(const uint32_t ns[7]) {
  for (int i = 0; i < 5; i++) if (ns[i] == 0) return 0;
  return 1;
}

static void forget_ns(source_t *s, int32_t pid);
static int away_from_host(const uint32_t ns[7]);

static void remember_ns(source_t *s, int32_t pid, const uint32_t ns[7]) {
  // An exiting process's partial read must not speak for it, nor for its parent, later.
  if (!ns_complete(ns)) { forget_ns(s, pid); return; }
  ns_entry_t *e = ns_claim(s, pid);
  if (!e) return;
  if (e->pid != pid || memcmp(e->ns, ns, sizeof e->ns) != 0) e->judged = 0;
  e->pid = pid;
  memcpy(e->ns, ns, sizeof e->ns);
}

// A capability set ("CapEff", "CapPrm") from a /proc/<pid>/status copy; 0 when absent.
static int status_cap(const char *status, size_t n, const char *which, uint64_t *cap) {
  char key[16];
  int k = snprintf(key, sizeof key, "\n%s:\t", which);
  const char *p = k > 0 ? memmem(status, n, key, (size_t)k) : NULL;
  if (!p || (size_t)(p - status) + (size_t)k + 16 > n) return 0;
  *cap = strtoull(p + k, NULL, 16);
  return 1;
}

static int status_cap_eff(const char *status, size_t n, uint64_t *cap) {
  return status_cap(status, n, "CapEff", cap);
}

#define CAP_SYS_ADMIN_BIT (1ULL << 21)

// setns() into any namespace takes CAP_SYS_ADMIN (in the user namespace owning the target). A judged
// process without it in its permitted set cannot gain it without an exec (an event, and a new
// judgement): its namespaces stay the judged ones, or new ones it made itself (an unprivileged user
// namespace), never the host's.
static int cannot_setns(const ns_entry_t *e) {
  return e->judged && (e->cap_prm & CAP_SYS_ADMIN_BIT) == 0;
}

// After a full copy of a container process (which the detectors judge): remember its state, so that
// its later execs in the same state need no copy (exec_unchanged()).
static void remember_state(source_t *s, int32_t pid, int dir, const char *status, size_t n) {
  ns_entry_t *e = ns_slot(s, pid);
  if (!e || e->pid != pid) return;
  struct stat root, cwd;
  uint64_t cap, prm;
  e->judged = fstatat(dir, "root", &root, 0) == 0 && fstatat(dir, "cwd", &cwd, 0) == 0 && status_cap_eff(status, n, &cap) &&
              status_cap(status, n, "CapPrm", &prm);
  if (!e->judged) return;
  e->cap_eff = cap;
  e->cap_prm = prm;
  e->root_dev = root.st_dev;
  e->root_ino = root.st_ino;
  e->cwd_dev = cwd.st_dev;
  e->cwd_ino = cwd.st_ino;
}

// A fork child taken as a copy of its parent (same namespaces) is in its parent's judged state.
static void inherit_state(source_t *s, int32_t child, const ns_entry_t *parent_state) {
  ns_entry_t *e = ns_slot(s, child);
  if (!e || e->pid != child || !parent_state->judged) return;
  e->judged = 1;
  e->cap_eff = parent_state->cap_eff;
  e->cap_prm = parent_state->cap_prm;
  e->root_dev = parent_state->root_dev;
  e->root_ino = parent_state->root_ino;
  e->cwd_dev = parent_state->cwd_dev;
  e->cwd_ino = parent_state->cwd_ino;
}

// The exec of a container process in the state it was last judged in, so that nothing a detector
// reads can have changed and no copy is needed (issue 14: a plain container exec must cost a few
// syscalls and no JavaScript): its namespaces are the ones cached, and its container's own (none of
// the host's); its root directory is the same, on a container root filesystem of its own (overlay,
// not a host directory as with the vfs driver, where the working-directory test below would prove
// nothing); its working directory lies on that filesystem or is the one judged (a leaked host
// directory, CVE-2024-21626's shape, is on another device); and it has no capability it did not have.
// Anything else (a chroot, a setns, a new cwd on a volume, a setuid gain) takes the full copy.
static int exec_unchanged(source_t *s, int dir, int32_t pid) {
  ns_entry_t *e = ns_slot(s, pid);
  if (!e || e->pid != pid || !e->judged || !away_from_host(e->ns) || !container_device((dev_t)e->root_dev)) return 0;
  // Namespaces are read unless the process cannot have changed them (see cannot_setns()).
  if (!cannot_setns(e)) {
    uint32_t ns[7];
    read_namespaces(dir, ns);
    if (memcmp(ns, e->ns, sizeof ns) != 0) return 0;
  }
  struct stat st;
  if (fstatat(dir, "root", &st, 0) != 0 || st.st_dev != e->root_dev || st.st_ino != e->root_ino) return 0;
  if (fstatat(dir, "cwd", &st, 0) != 0) return 0;
  if (st.st_dev != e->root_dev && !(st.st_dev == e->cwd_dev && st.st_ino == e->cwd_ino)) return 0;
  char status[1536];
  uint16_t n = read_file(dir, "status", status, sizeof status);
  uint64_t cap;
  return status_cap_eff(status, n, &cap) && (cap & ~e->cap_eff) == 0;
}

// Has the root or the working directory of a judged process left the state it was judged in? The
// root must be the same directory; the working directory on the root's filesystem or the one judged
// (the test exec_unchanged() applies). Unreadable (exiting) is not a change.
static int moved_directories(int dir, const ns_entry_t *e) {
  struct stat st;
  if (fstatat(dir, "root", &st, 0) != 0) return 0;
  if (st.st_dev != e->root_dev || st.st_ino != e->root_ino) return 1;
  if (fstatat(dir, "cwd", &st, 0) != 0) return 0;
  return st.st_dev != e->root_dev && !(st.st_dev == e->cwd_dev && st.st_ino == e->cwd_ino);
}

// A pid whose namespaces were not read this time: its slot must not speak for it any more.
static void forget_ns(source_t *s, int32_t pid) {
  ns_entry_t *e = ns_slot(s, pid);
  if (e && (e->pid == pid || e->pid == -pid)) {
    e->pid = 0;
    uint32_t at = (uint32_t)(e - s->ns_cache);
    s->ns_used[at / 64] &= ~(1ULL << (at % 64));
  }
}

// Is this a container process's ordinary state: its own mnt, pid, net, ipc and uts namespaces,
// none of them the host's? (The host's must be known; user and cgroup are often shared by design.)
static int away_from_host(const uint32_t ns[7]) {
  int known = 0, away = 1;
  pthread_mutex_lock(&g_filter_lock);
  for (int i = 0; i < 5; i++) {  // mnt, pid, net, ipc, uts
    if (g_host_ns[i]) known = 1;
    if (ns[i] == 0 || ns[i] == g_host_ns[i]) away = 0;
  }
  pthread_mutex_unlock(&g_filter_lock);
  return known && away;
}

// Copy the raw facts of one process into the snapshot ring when a detector could flag it, or count
// why not, and keep its verdict. A container process gets cgroup, exe, cmdline, stat, status, the
// namespace inodes and its parent's exe; see source_t.verdict for what a host process costs.
// `parent` is the forking process for EV_FORK.
// The parent pid (field 4) of a /proc/<pid>/stat copy; fields restart after the last ')' (comm may
// hold anything). -1 when it cannot be read.
static int32_t stat_ppid(const char *stat, size_t len) {
  const char *close = NULL;
  for (size_t i = 0; i < len; i++) if (stat[i] == ')') close = stat + i;
  if (!close || (size_t)(close - stat) + 4 >= len) return -1;
  const char *p = close + 2;               // the state field
  while (p < stat + len && *p != ' ') p++;  // past it
  if (p >= stat + len) return -1;
  return (int32_t)strtol(p + 1, NULL, 10);
}

static void examine(source_t *s, int kind, int32_t pid, int32_t parent);

// A process of a fork, exec or uid event exited before it could be read. Is that a loss, something
// an escape could hide in? Only container-side processes count (a runtime's child, a container
// process or one descended from a container, a kernel helper's descendant); a host process that exits is nothing. Of those, only a
// fork child is vouched for: by its parent, still alive in the namespaces it was judged in (the child
// started as a copy of it); a parent that moved since (setns without exec, then fork) is copied now.
// An exec or a uid change that was not read is a loss whatever was read of that process before (an
// nsenter without -p execs right after its setns): GONE_EXEC_UNREAD when the process was read in its
// container earlier (what a busy container's short execs give, counted apart), GONE_LOST when never.
// So is a fork whose parent is gone too: an nsenter and its child both gone before the reader got to
// them. Called before examine() updates the cache for this pid. Returns GONE_*. Reader thread only.
// GONE_BY_PARENT: vouched for by its parent, whose namespaces it then had (its exec, if it comes, is
// an exec_unread, not a loss of a process never read).
enum { GONE_VOUCHED, GONE_BY_PARENT, GONE_LOST, GONE_EXEC_UNREAD, GONE_PARENT_MOVED };

static int vouched(source_t *s, int32_t parent) {
  for (int i = 0; i < VOUCHED_SLOTS; i++) if (s->vouched[i].pid == parent && s->vouched[i].batch == s->batch) return 1;
  return 0;
}

static void vouch(source_t *s, int32_t parent) {
  if (vouched(s, parent)) return;
  s->vouched[s->vouched_next % VOUCHED_SLOTS].pid = parent;
  s->vouched[s->vouched_next % VOUCHED_SLOTS].batch = s->batch;
  s->vouched_next++;
}

static int gone_unvouched(source_t *s, int kind, int32_t pid, int32_t parent, uint8_t known) {
  if (known != VERDICT_WATCHED && known != VERDICT_LINEAGE && known != VERDICT_RUNTIME_CHILD && known != VERDICT_HELPER) return GONE_VOUCHED;
  if (kind == EV_RECHECK) return GONE_LOST;  // it moved, then exited before the copy
  if (kind != EV_FORK) {
    ns_entry_t *e = ns_slot(s, pid);
    return e && (e->pid == pid || e->pid == -pid) ? GONE_EXEC_UNREAD : GONE_LOST;
  }
  // A fork of a runtime's child runs the runtime's code until it execs (runc init's own stages exit
  // at once at every container start and docker exec): only its exec, the container's code, counts.
  if (known == VERDICT_RUNTIME_CHILD) return GONE_VOUCHED;
  // A cache entry holds namespaces that were judged: read with a copy, or those of a parent whose
  // were. That holds for a --pid=host container's processes too, whose ordinary state shares one.
  ns_entry_t *pe = ns_slot(s, parent);
  if (!(pe && pe->pid == parent)) return GONE_LOST;
  // A storm forks from one parent: it is read once per received batch, not once per child.
  if (vouched(s, parent)) return GONE_BY_PARENT;
  int dir = open_pid_dir(parent);
  if (dir < 0) return GONE_LOST;
  uint32_t ns[7];
  read_namespaces(dir, ns);
  close(dir);
  if (memcmp(ns, pe->ns, sizeof ns) == 0) {
    vouch(s, parent);
    return GONE_BY_PARENT;
  }
  for (int i = 0; i < 5; i++) if (ns[i] == 0) return GONE_LOST;  // exited meanwhile
  return GONE_PARENT_MOVED;  // examine() copies the parent while it lives
}

// After a pass that freed this many slots (a storm's children), the cache's pages that hold no
// process any more go back to the system.
#define RELEASE_AFTER_FORGOTTEN 256

// Hand back every page of the namespace cache whose slots are all free (their used bits clear: a
// forgotten slot is zero to its users, and so is a page read back after MADV_DONTNEED). A walk of
// the used bitmap, ~700 pages: only after a pass freed many slots. Reader thread only.
static void release_free_pages(source_t *s) {
  const size_t page = (size_t)sysconf(_SC_PAGESIZE);
  const size_t pages = NS_CACHE_BYTES / page;
  size_t run = 0;  // free pages so far in the current run, released together
  for (size_t p = 0; p <= pages; p++) {
    int free_page = 0;
    if (p < pages) {
      // Slots with a byte on page p: [p*page / size, ((p+1)*page - 1) / size].
      uint32_t first = (uint32_t)(p * page / sizeof(ns_entry_t)), last = (uint32_t)(((p + 1) * page - 1) / sizeof(ns_entry_t));
      free_page = 1;
      for (uint32_t i = first; i <= last && i < NS_CACHE_SLOTS && free_page; i++) free_page = !(s->ns_used[i / 64] >> (i % 64) & 1);
    }
    if (free_page) { run++; continue; }
    if (run > 0) madvise((char *)s->ns_cache + (p - run) * page, run * page, MADV_DONTNEED);
    run = 0;
  }
}

static int ms_until(const struct timespec *now, const struct timespec *then) {
  return (int)((then->tv_sec - now->tv_sec) * 1000 + (then->tv_nsec - now->tv_nsec) / 1000000);
}

// Every RECHECK_MS: read again the namespaces of every cached container process (the cache holds
// only processes read as a container's; those of a --pid=host container share a namespace with the
// host by design and are the ones that can setns into the others), and copy those that moved. This
// is what sees a process that calls setns() into the host's namespaces and neither execs nor forks
// (no event at all): within one period, if it lives that long.
// Cost follows cached container processes: one open and five readlinkat each (mnt, pid, net, ipc,
// uts, the namespaces away_from_host() judges) for those that may call setns (CAP_SYS_ADMIN
// permitted, or not judged yet), two fstatat for a judged one (its root and working directory,
// moved_directories()), and a walk of the cache. A process that cannot call setns can only move its
// directories (a chroot, or a `cd` through a leaked descriptor): it is read every other pass, half of
// them in each (by pid), so within 2 x RECHECK_MS; that halves the re-check of an idle host, where
// almost every container process is such a one (issue 14). Reader thread only.
static void recheck(source_t *s) {
  if (!s->ns_cache) return;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  if (ms_until(&now, &s->next_recheck) > 0) return;
  s->next_recheck = now;
  s->next_recheck.tv_nsec += RECHECK_MS * 1000000L;
  while (s->next_recheck.tv_nsec >= 1000000000L) { s->next_recheck.tv_nsec -= 1000000000L; s->next_recheck.tv_sec++; }
  uint64_t reads = 0, moved = 0, forgotten = 0, cached = 0;
  struct timespec c0, c1;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
  // The used-slot bitmap: a walk of 4 KiB, not of the whole cache, when few processes are cached.
  for (uint32_t i = 0; i < NS_CACHE_SLOTS; i++) {
    if ((i % 64) == 0 && s->ns_used[i / 64] == 0) { i += 63; continue; }
    ns_entry_t *e = &s->ns_cache[i];
    // Exited before an earlier pass: all its events are handled once the queue has been emptied
    // since, so it is forgotten, and the slot freed (a storm's children would keep pages resident).
    if (e->pid < 0 && s->caught_up) {
      forget_ns(s, -e->pid);
      forgotten++;
      continue;
    }
    if (e->pid == 0) continue;
    cached++;
    if (e->pid < 0) continue;
    if (cannot_setns(e) && ((s->recheck_passes + (uint64_t)e->pid) & 1)) continue;
    int dir = open_pid_dir(e->pid);
    // Exited: kept, negated, for an exec or uid event of it still queued (an exec_unread, not a loss
    // of a process never read), and skipped by the re-check from now on.
    if (dir < 0) { e->pid = -e->pid; continue; }
    reads++;
    int changed = 0;
    // Namespaces only of a process that can call setns (cannot_setns()).
    for (int k = 0; k < 5 && !changed && !cannot_setns(e); k++) {
      uint32_t ino = ns_inode_at(dir, k);
      changed = ino != 0 && ino != e->ns[k];
    }
    // A root or working directory that left the state it was judged in, without exec (a chroot, or a
    // shell's `cd` into a leaked host directory): copied, for the filesystem checks. The light pass
    // of the periodic scan does not read container processes (issue 14).
    if (!changed && e->judged) changed = moved_directories(dir, e);
    close(dir);
    if (changed) {
      moved++;
      examine(s, EV_RECHECK, e->pid, 0);
    }
  }
  if (forgotten >= RELEASE_AFTER_FORGOTTEN) release_free_pages(s);
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
  pthread_mutex_lock(&s->lock);
  s->recheck_cpu_ns += (uint64_t)((c1.tv_sec - c0.tv_sec) * 1000000000LL + (c1.tv_nsec - c0.tv_nsec));
  s->recheck_passes++;
  s->recheck_reads += reads;
  s->recheck_moved += moved;
  s->ns_cached = cached;
  pthread_mutex_unlock(&s->lock);
}

// Container processes that were running before the addon started send no event until they fork or
// exec, so the re-check would not know them: read once, at the first filter that knows the host's
// namespaces, the cgroup of every process, and cache the namespaces of those in a container (and
// their verdict and state). About 35 us per process, once. Reader thread only.
static void seed_existing(source_t *s) {
  DIR *proc = opendir(g_proc);
  if (!proc) return;
  uint64_t n = 0;
  for (struct dirent *d; (d = readdir(proc)) != NULL;) {
    char *end;
    long pid = strtol(d->d_name, &end, 10);
    if (*end != 0 || pid <= 0) continue;
    int dir = openat(dirfd(proc), d->d_name, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) continue;
    char cg[1536];
    uint16_t len = read_file(dir, "cgroup", cg, sizeof cg);
    if (len > 0 && names_container(cg, len)) {
      uint32_t ns[7];
      read_namespaces(dir, ns);
      if (ns_complete(ns)) {
        remember_ns(s, (int32_t)pid, ns);
        set_verdict(s, (int32_t)pid, VERDICT_WATCHED);
        // Its state now (capabilities, root and working directory) is what the re-check compares
        // with, as for a process judged from a copy: the first full scan judges every container
        // process, and one already in a host namespace now is copied, for the detectors, at once.
        char status[1536];
        uint16_t sl = read_file(dir, "status", status, sizeof status);
        if (sl > 0) remember_state(s, (int32_t)pid, dir, status, sl);
        if (!away_from_host(ns)) examine(s, EV_RECHECK, (int32_t)pid, 0);
        n++;
      }
    }
    close(dir);
  }
  closedir(proc);
  pthread_mutex_lock(&s->lock);
  s->seeded += n;
  pthread_mutex_unlock(&s->lock);
}

static void examine(source_t *s, int kind, int32_t pid, int32_t parent) {
  if (pid <= 0) return;
  if (atomic_exchange(&s->forget_verdicts, 0)) {
    // The namespace cache stays: every use of an entry also needs a WATCHED verdict, which only a
    // fresh read (that rewrites the entry) gives back, and the periodic re-check must keep its
    // processes across a storm's overruns. A stale entry is read again there and copied if it moved.
    anon_zero(s->verdict, s->verdict_cap);  // VERDICT_UNKNOWN is 0
  }
  uint8_t known = verdict_of(s, kind == EV_FORK ? parent : pid);
  // Nothing to read: the child of a PLAIN process is PLAIN (it starts as a copy), and kthreadd's
  // children are kernel threads until they exec (usermode helpers: read then).
  if ((kind == EV_FORK && (known == VERDICT_PLAIN || parent == KTHREADD_PID)) || (kind == EV_UID && known == VERDICT_PLAIN)) {
    if (kind == EV_FORK) {
      set_verdict(s, pid, known == VERDICT_PLAIN ? VERDICT_PLAIN : VERDICT_UNKNOWN);
      forget_ns(s, pid);
    }
    pthread_mutex_lock(&s->lock);
    s->skipped++;
    pthread_mutex_unlock(&s->lock);
    return;
  }
  // A storm: a parent forking again within one received batch, found unmoved earlier in this batch.
  // Its child starts as a copy of it and is taken as such without a read, so that a container forking
  // flat out costs a lookup per fork, not a /proc read, and the reader keeps up with the rest (an
  // nsenter's fork among them). Given up: a storm child that calls setns in the first instants of its
  // life and never execs; the namespace re-check sees it if it lives RECHECK_MS.
  // So is the child of a parent that cannot call setns (no CAP_SYS_ADMIN permitted, judged since its
  // last exec): it is in its parent's judged namespaces, with no read at all (most containers' forks).
  if (kind == EV_FORK && known == VERDICT_WATCHED) {
    ns_entry_t *pe = ns_slot(s, parent);
    if (pe && pe->pid == parent && away_from_host(pe->ns) && (vouched(s, parent) || cannot_setns(pe))) {
      ns_entry_t parent_state = *pe;  // the child's slot may be the parent's
      set_verdict(s, pid, VERDICT_WATCHED);
      remember_ns(s, pid, parent_state.ns);
      inherit_state(s, pid, &parent_state);
      pthread_mutex_lock(&s->lock);
      s->unchanged++;
      pthread_mutex_unlock(&s->lock);
      return;
    }
  }
  snap_t *tmp = &s->scratch;
  memset(tmp->ns, 0, sizeof tmp->ns);
  tmp->pid = pid;
  tmp->event = kind;
  tmp->len_status = tmp->len_pexe = tmp->len_stat = tmp->len_exe = tmp->len_cmdline = tmp->len_cgroup = 0;
  tmp->len_exe_id = tmp->len_pexe_id = tmp->len_storage_dir = 0;
  int dir = open_pid_dir(pid);
  int cgroup_read = 0, container = 0, wanted = 0, runtime = 0, lineage = 0, alive = dir >= 0;
  // The fork child of a container process in its ordinary state, still in the same namespaces.
  ns_entry_t *pe = kind == EV_FORK && known == VERDICT_WATCHED ? ns_slot(s, parent) : NULL;
  if (alive && pe && pe->pid == parent && away_from_host(pe->ns)) {
    uint32_t ns[7];
    read_namespaces(dir, ns);
    if (!ns_complete(ns)) alive = 0;  // exiting: gone (below), not a copy with no namespaces
    if (alive && memcmp(ns, pe->ns, sizeof ns) == 0) {
      close(dir);
      vouch(s, parent);
      ns_entry_t parent_state = *pe;  // the child's slot may be the parent's
      set_verdict(s, pid, VERDICT_WATCHED);
      remember_ns(s, pid, ns);
      inherit_state(s, pid, &parent_state);
      pthread_mutex_lock(&s->lock);
      s->unchanged++;
      pthread_mutex_unlock(&s->lock);
      return;
    }
  }
  // A container process's exec in the state it was judged in: counted, not copied.
  if (alive && kind == EV_EXEC && known == VERDICT_WATCHED && exec_unchanged(s, dir, pid)) {
    close(dir);
    pthread_mutex_lock(&s->lock);
    s->unchanged++;
    pthread_mutex_unlock(&s->lock);
    return;
  }
  // The exec of a PLAIN process keeps its (host) cgroup: it is read only if the copy is wanted.
  if (alive && !(kind == EV_EXEC && known == VERDICT_PLAIN)) {
    tmp->len_cgroup = read_file(dir, "cgroup", tmp->cgroup, sizeof tmp->cgroup);
    cgroup_read = 1;
    alive = tmp->len_cgroup > 0;
    container = names_container(tmp->cgroup, tmp->len_cgroup);
  }
  if (alive) {
    tmp->len_exe = read_link_at(dir, "exe", tmp->exe, sizeof tmp->exe);
    tmp->len_cmdline = read_file(dir, "cmdline", tmp->cmdline, sizeof tmp->cmdline);
    runtime = !container && is_runtime_exe(tmp->exe, tmp->len_exe);
    // Lineage: a container process (or a fork of one) that is in no container's cgroup now, having
    // written its pid to a root cgroup.procs. Still the container's: copied in full (issue 13).
    lineage = !container && (known == VERDICT_WATCHED || known == VERDICT_LINEAGE);
    struct stat exe_st;
    int exe_ok = fstatat(dir, "exe", &exe_st, 0) == 0;
    if (exe_ok) {
      int n = snprintf(tmp->exe_id, sizeof tmp->exe_id, "%llu:%llu", (unsigned long long)exe_st.st_dev, (unsigned long long)exe_st.st_ino);
      tmp->len_exe_id = n > 0 && (size_t)n < sizeof tmp->exe_id ? (uint16_t)n : 0;
    }
    // A kernel helper's descendants are copied too (its fork children, and their execs): the payload
    // runs `sleep` or a shell that names no container path, and is copied before it can exec away
    // from the path its parent named. So is a host process whose executable lies on a container's
    // root filesystem, whatever path it was reached by.
    wanted = container || lineage || known == VERDICT_HELPER || mentions_prefix(tmp->exe, tmp->len_exe, tmp->cmdline, tmp->len_cmdline) ||
             (exe_ok && container_device(exe_st.st_dev));
    // A container's file reached through a bind mount of its storage: by the identity of a directory
    // on the path (the periodic light pass reads no new host pids; this is what sees it).
    if (!wanted && !container && exe_ok && storage_device(exe_st.st_dev)) {
      tmp->len_storage_dir = storage_dir_on_path(dir, tmp->exe, tmp->len_exe, tmp->storage_dir, sizeof tmp->storage_dir);
      wanted = tmp->len_storage_dir > 0;
    }
  }
  if (wanted && !cgroup_read) {
    tmp->len_cgroup = read_file(dir, "cgroup", tmp->cgroup, sizeof tmp->cgroup);
    alive = tmp->len_cgroup > 0;
    container = names_container(tmp->cgroup, tmp->len_cgroup);
  }
  if (alive && wanted) {
    tmp->len_stat = read_file(dir, "stat", tmp->stat, sizeof tmp->stat);
    alive = tmp->len_stat > 0;
  }
  if (alive && (container || lineage)) {
    tmp->len_status = read_file(dir, "status", tmp->status, sizeof tmp->status);
    read_namespaces(dir, tmp->ns);
    // Exiting while we read: a copy without namespaces cannot show an escape; it is gone, and
    // whether that is a loss is decided as for any gone process (gone_unvouched(), which needs the
    // entry of its earlier read: forgotten only after it).
    if (!ns_complete(tmp->ns)) alive = 0;
    else remember_ns(s, pid, tmp->ns);
    if (alive && container) remember_state(s, pid, dir, tmp->status, tmp->len_status);
    // The parent's executable tells runc's own `runc init` from look-alikes; the parent may be gone
    // by the time JavaScript looks. Only runtime-looking executables need it (the same test as for
    // the verdicts, which is broader than TypeScript's). Finding "PPid:" is copying, not judging.
    char *pp = is_runtime_exe(tmp->exe, tmp->len_exe) ? memmem(tmp->status, tmp->len_status, "\nPPid:\t", 7) : NULL;
    if (pp) {
      int32_t ppid = (int32_t)strtol(pp + 7, NULL, 10);
      char pexe[PROC_ROOT_MAX + 24];
      snprintf(pexe, sizeof pexe, "%s/%d/exe", g_proc, ppid);
      if (ppid > 0) tmp->len_pexe = read_link_at(AT_FDCWD, pexe, tmp->pexe, sizeof tmp->pexe);
      if (ppid > 0) tmp->len_pexe_id = file_id_at(AT_FDCWD, pexe, tmp->pexe_id, sizeof tmp->pexe_id);
    }
  }
  if (dir >= 0) close(dir);

  // A helper: a host process naming storage whose parent is kthreadd, or a helper's descendant.
  int helper = alive && wanted && !container && !lineage && (known == VERDICT_HELPER || stat_ppid(tmp->stat, tmp->len_stat) == KTHREADD_PID);
  int gone_kind = alive ? GONE_VOUCHED : gone_unvouched(s, kind, pid, parent, known);
  int lost = gone_kind == GONE_LOST;
  uint8_t v = !alive ? VERDICT_UNKNOWN
            : helper ? VERDICT_HELPER
            : container ? VERDICT_WATCHED
            : lineage ? VERDICT_LINEAGE
            : wanted ? VERDICT_STORAGE
            : runtime ? VERDICT_RUNTIME
            : kind == EV_FORK && (known == VERDICT_RUNTIME || known == VERDICT_RUNTIME_CHILD) ? VERDICT_RUNTIME_CHILD
            : kind == EV_UID && known == VERDICT_RUNTIME_CHILD ? VERDICT_RUNTIME_CHILD
            : VERDICT_PLAIN;
  set_verdict(s, pid, v);
  if (!(alive && (container || lineage))) forget_ns(s, pid);
  if (gone_kind == GONE_BY_PARENT) {
    ns_entry_t *pe = ns_slot(s, parent);
    if (pe && pe->pid == parent) {
      uint32_t ns[7];
      memcpy(ns, pe->ns, sizeof ns);
      remember_ns(s, pid, ns);
    }
  }
  // A parent never seen before (it predates us) is what its fresh copy shows.
  if (kind == EV_FORK && known == VERDICT_UNKNOWN && alive) {
    set_verdict(s, parent, v);
    if (container) remember_ns(s, parent, tmp->ns);
    else forget_ns(s, parent);
  }
  pthread_mutex_lock(&s->lock);
  if (!alive) {
    s->gone++;  // exited before we looked: nothing left to read, by us or by JavaScript
    if (lost || gone_kind == GONE_EXEC_UNREAD) {
      if (lost) s->lost_exited++;
      else s->lost_exec_unread++;
      s->urgent = 1;  // JavaScript counts it and schedules a catch-up scan
    }
  } else if (!wanted) {
    s->skipped++;
  } else if (s->snap_count == SNAP_CAPACITY) {
    s->snaps_dropped++;
    s->urgent = 1;
  } else {
    uint32_t slot = (s->snap_head + s->snap_count) % SNAP_CAPACITY;
    s->snaps[slot] = *tmp;
    s->snap_count++;
    if (slot + 1 > s->snap_hwm) s->snap_hwm = slot + 1;
    s->copied++;
    s->urgent = 1;
  }
  pthread_mutex_unlock(&s->lock);
  if (gone_kind == GONE_PARENT_MOVED) examine(s, EV_RECHECK, parent, 0);
}

static void decode(source_t *s, struct proc_event *ev) {
  if (ev->what == PROC_EVENT_NONE) return;  // the acknowledgement of our subscription
  count(s, ev->what);
  switch (ev->what) {
    case PROC_EVENT_FORK:
      // New processes only (a new thread shares its process's namespaces and credentials). The child
      // starts as a copy of its parent, so its facts are the parent's at the moment of the fork
      // (after an nsenter's setns(), say): one copy serves both.
      if (ev->event_data.fork.child_pid == ev->event_data.fork.child_tgid)
        examine(s, EV_FORK, ev->event_data.fork.child_tgid, ev->event_data.fork.parent_tgid);
      break;
    case PROC_EVENT_EXEC:
      examine(s, EV_EXEC, ev->event_data.exec.process_tgid, 0);
      break;
    case PROC_EVENT_UID:
      examine(s, EV_UID, ev->event_data.id.process_tgid, 0);
      break;
    case PROC_EVENT_EXIT:
      if (ev->event_data.exit.process_pid == ev->event_data.exit.process_tgid) set_verdict(s, ev->event_data.exit.process_tgid, VERDICT_UNKNOWN);
      break;
    default:
      break;  // counted; not examined
  }
}

// One netlink datagram: connector messages, each carrying one event.
static void handle(source_t *s, char *buf, size_t n) {
  for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, n); nh = NLMSG_NEXT(nh, n)) {
    if (nh->nlmsg_type == NLMSG_NOOP || nh->nlmsg_type == NLMSG_ERROR) continue;
    struct cn_msg *cn = NLMSG_DATA(nh);
    if (cn->id.idx != CN_IDX_PROC || cn->id.val != CN_VAL_PROC) continue;
    decode(s, (struct proc_event *)cn->data);
  }
}

// The socket's Drops column in /proc/net/netlink (-1 when it cannot be read).
static long long netlink_drops(unsigned long inode) {
  // The daemon's own socket, so its own view (its network namespace), not the host's procfs.
  FILE *f = fopen("/proc/self/net/netlink", "re");
  if (!f) return -1;
  char line[512];
  long long found = -1;
  while (found < 0 && fgets(line, sizeof line, f)) {
    unsigned long long drops, ino;
    // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
    if (sscanf(line, "%*s %*s %*s %*s %*s %*s %*s %*s %llu %llu", &drops, &ino) == 2 && ino == inode) found = (long long)drops;
  }
  fclose(f);
  return found;
}

static void *reader(void *arg) {
  source_t *s = arg;
  // Copies race with the processes they copy: run ahead of ordinary work when the CPUs are busy.
  // A fork storm is exactly that: with a nice value the reader still waits behind the storm's
  // processes for its turn, and an nsenter lives a few milliseconds. So the lowest real-time
  // priority (SCHED_RR 1) when allowed: it preempts ordinary work at wake-up, and cannot starve the
  // host: the work per event is bounded, the thread blocks in recvmmsg() when the queue is empty,
  // and the kernel caps real-time threads at sched_rt_runtime_us (95 % of a CPU by default). Refused
  // without CAP_SYS_NICE, or in a cgroup with no real-time budget (kernels with RT_GROUP_SCHED):
  // then nice READER_NICE, or the default.
  pthread_setname_np(pthread_self(), "rw-proc-events");  // for top -H and the bench's CPU figures
  struct sched_param rt = {.sched_priority = READER_RT_PRIORITY};
  s->realtime = s->want_realtime && pthread_setschedparam(pthread_self(), SCHED_RR, &rt) == 0;
  if (!s->realtime && setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), READER_NICE) != 0) { /* not permitted: keep the default */ }
  for (int i = 0; i < RECV_BATCH; i++) {
    s->iovs[i] = (struct iovec){.iov_base = s->bufs[i], .iov_len = RECV_BUF};
    s->msgs[i].msg_hdr = (struct msghdr){.msg_iov = &s->iovs[i], .msg_iovlen = 1};
  }
  // One blocking recvmmsg() per wake-up: it returns as soon as one event is there, with whatever else
  // has queued (up to RECV_BATCH). The socket's receive timeout (STOP_CHECK_MS) bounds how long
  // close() waits for the thread: nothing else wakes a blocked netlink receive.
  while (!atomic_load(&s->stop)) {
    int got = recvmmsg(s->fd, s->msgs, RECV_BATCH, MSG_WAITFORONE, NULL);
    s->batch++;
    s->caught_up = got < RECV_BATCH && !(got < 0 && errno == ENOBUFS);
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
        // nothing received (the receive timeout): only the re-check below
      } else if (errno == ENOBUFS) {
        // The kernel dropped events: the socket buffer overflowed. JS falls back to a full scan.
        pthread_mutex_lock(&s->lock);
        s->overruns++;
        pthread_mutex_unlock(&s->lock);
        s->urgent = 1;
        s->congested = 1;
        atomic_store(&s->forget_verdicts, 1);  // a missed fork may have reused a pid
      } else {
        break;  // a fatal error
      }
    } else {
      for (int i = 0; i < got; i++) handle(s, s->bufs[i], s->msgs[i].msg_len);
      // Caught up after an overrun: the kernel stops dropping once the queue is empty, so the drop
      // counter now holds the whole episode.
      if (s->congested && got < RECV_BATCH) {
        long long drops = netlink_drops(s->inode);
        pthread_mutex_lock(&s->lock);
        if (drops >= 0) s->lost = (uint64_t)drops;
        else s->lost = s->overruns;  // unreadable: at least one per overrun
        pthread_mutex_unlock(&s->lock);
        s->congested = 0;
        s->urgent = 1;
      }
    }
    // After the examine() calls above, whose forget_verdicts would undo the verdicts it sets.
    if (atomic_exchange(&s->seed_pending, 0)) {
      if (atomic_exchange(&s->forget_verdicts, 0)) anon_zero(s->verdict, s->verdict_cap);  // VERDICT_UNKNOWN is 0
      seed_existing(s);
    }
    recheck(s);  // at most every RECHECK_MS; the receive timeout wakes an idle reader often enough
    // Counts alone wait for JavaScript's timer; copies and losses wake it now.
    if (s->urgent && !atomic_exchange(&s->wake_pending, 1)) napi_call_threadsafe_function(s->tsfn, NULL, napi_tsfn_nonblocking);
    s->urgent = 0;
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

// Since Linux 6.6 a listener can name the events it wants (struct proc_input, not yet in every
// distribution's headers). Exit events are a third of the traffic and tell the detectors nothing;
// an older kernel ignores a subscription of the new size altogether, so it gets the old one.
struct rw_proc_input {
  uint32_t mcast_op;
  uint32_t event_type;
};
#define SUBSCRIBED_EVENTS (PROC_EVENT_FORK | PROC_EVENT_EXEC | PROC_EVENT_UID | PROC_EVENT_GID | PROC_EVENT_SID | \
                           PROC_EVENT_PTRACE | PROC_EVENT_COMM | PROC_EVENT_COREDUMP)

static int kernel_filters_events(void) {
  struct utsname u;
  int major = 0, minor = 0;
  if (uname(&u) != 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2) return 0;
  return major > 6 || (major == 6 && minor >= 6);
}

static int subscribe(int fd, enum proc_cn_mcast_op op, int filtered) {
  char buf[NLMSG_SPACE(sizeof(struct cn_msg) + sizeof(struct rw_proc_input))] __attribute__((aligned(NLMSG_ALIGNTO)));
  size_t len = filtered ? sizeof(struct rw_proc_input) : sizeof(enum proc_cn_mcast_op);
  memset(buf, 0, sizeof buf);
  struct nlmsghdr *nh = (struct nlmsghdr *)buf;
  nh->nlmsg_len = NLMSG_LENGTH(sizeof(struct cn_msg) + len);
  nh->nlmsg_type = NLMSG_DONE;
  nh->nlmsg_pid = 0;
  struct cn_msg *cn = NLMSG_DATA(nh);
  cn->id.idx = CN_IDX_PROC;
  cn->id.val = CN_VAL_PROC;
  cn->len = len;
  if (filtered) {
    struct rw_proc_input in = {.mcast_op = op, .event_type = SUBSCRIBED_EVENTS};
    memcpy(cn->data, &in, sizeof in);
  } else {
    memcpy(cn->data, &op, sizeof op);
  }
  return send(fd, buf, nh->nlmsg_len, 0) < 0 ? -1 : 0;
}

// open(onCopies: () => void, receiveBufferBytes?: number, realtime?: boolean, procRoot?: string): void
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (g_src) { napi_throw_error(env, NULL, "process connector already open"); return NULL; }
  if (argc < 1) { napi_throw_type_error(env, NULL, "open(callback[, receiveBufferBytes[, realtime[, procRoot]]])"); return NULL; }
  if (!proc_root_arg(env, argc > 3 ? argv[3] : NULL)) return NULL;
  uint32_t rcvbuf_arg = 0;
  if (argc > 1) napi_get_value_uint32(env, argv[1], &rcvbuf_arg);
  bool want_rt = true;
  if (argc > 2 && napi_get_value_bool(env, argv[2], &want_rt) != napi_ok) want_rt = true;

  int fd = socket(PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
  if (fd < 0) return throw_errno(env, "socket(NETLINK_CONNECTOR)", errno);
  int rcvbuf = rcvbuf_arg > 0 ? (int)rcvbuf_arg : 4 << 20;  // a small one only in tests of the overrun path
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  struct timeval tv = {.tv_sec = 0, .tv_usec = STOP_CHECK_MS * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC, .nl_pid = 0};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { int e = errno; close(fd); return throw_errno(env, "bind(CN_IDX_PROC)", e); }
  int filtered = kernel_filters_events();
  if (subscribe(fd, PROC_CN_MCAST_LISTEN, filtered) < 0) { int e = errno; close(fd); return throw_errno(env, "PROC_CN_MCAST_LISTEN", e); }
  struct stat sockst;

  source_t *s = calloc(1, sizeof *s);
  if (!s) { close(fd); napi_throw_error(env, NULL, "out of memory"); return NULL; }
  // Its own mapping (page-aligned, zero pages until touched) so that js_drain can give pages back.
  s->snaps = mmap(NULL, SNAP_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (s->snaps == MAP_FAILED) s->snaps = NULL;
  if (!s->snaps) { close(fd); free(s); napi_throw_error(env, NULL, "out of memory"); return NULL; }
  s->fd = fd;
  s->inode = fstat(fd, &sockst) == 0 ? (unsigned long)sockst.st_ino : 0;
  s->exits = !filtered;
  s->want_realtime = want_rt;
  pthread_mutex_init(&s->lock, NULL);
  // One byte per possible pid (pid_max, at most 4 MiB); without it every event is read in full.
  char pm[32] = {0};
  char pm_path[PROC_ROOT_MAX + 24];
  snprintf(pm_path, sizeof pm_path, "%s/sys/kernel/pid_max", g_proc);
  int pmfd = open(pm_path, O_RDONLY | O_CLOEXEC);
  if (pmfd >= 0) {
    if (read(pmfd, pm, sizeof pm - 1) < 0) pm[0] = 0;
    close(pmfd);
  }
  long pid_max = strtol(pm, NULL, 10);
  if (pid_max <= 0 || pid_max > MAX_VERDICT_PIDS) pid_max = MAX_VERDICT_PIDS;
  s->verdict = anon_alloc((size_t)pid_max);
  s->ns_cache = anon_alloc(NS_CACHE_BYTES);
  s->verdict_cap = s->verdict ? (uint32_t)pid_max : 0;
  napi_value name;
  napi_create_string_utf8(env, "rootwatch-proc-events", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[0], NULL, name, 1, 1, NULL, NULL, NULL, call_js, &s->tsfn) != napi_ok) {
    close(fd); if (s->snaps) munmap(s->snaps, SNAP_BYTES); anon_free(s->verdict, s->verdict_cap); anon_free(s->ns_cache, NS_CACHE_BYTES); free(s); napi_throw_error(env, NULL, "cannot create thread-safe function"); return NULL;
  }
  // The reader thread must not keep the event loop alive by itself.
  napi_unref_threadsafe_function(env, s->tsfn);
  if (pthread_create(&s->thread, NULL, reader, s) != 0) {
    int e = errno; napi_release_threadsafe_function(s->tsfn, napi_tsfn_abort); close(fd); if (s->snaps) munmap(s->snaps, SNAP_BYTES); anon_free(s->verdict, s->verdict_cap); anon_free(s->ns_cache, NS_CACHE_BYTES); free(s);
    return throw_errno(env, "pthread_create", e);
  }
  s->thread_started = 1;
  g_src = s;
  return NULL;
}

// Copies the strings of a JS array (at most `max`, each 1 to 4096 bytes; others are skipped).
static int copy_strings(napi_env env, napi_value arr, char **out, size_t *lens, int max) {
  uint32_t n = 0;
  napi_get_array_length(env, arr, &n);
  int count = 0;
  for (uint32_t i = 0; i < n && count < max; i++) {
    napi_value v;
    size_t len = 0;
    napi_get_element(env, arr, i, &v);
    if (napi_get_value_string_latin1(env, v, NULL, 0, &len) != napi_ok || len == 0 || len > 4096) continue;
    char *p = malloc(len + 1);
    if (!p) break;
    napi_get_value_string_latin1(env, v, p, len + 1, &len);
    out[count] = p;
    if (lens) lens[count] = len;
    count++;
  }
  return count;
}

// setFilter(storagePrefixes: string[], runtimeNames: string[], hostNamespaces: number[], containerDevices?: string[], storageDirs?: string[]): void.
// Host processes are copied only when their exe or command line contains a storage prefix (at most
// 64); executables with one of the runtime names (basenames, at most 64) start processes that may
// join a container; the host's namespace inode numbers (NS_KINDS order, 0 = unknown) tell a
// container process's ordinary state from an escaped one; host processes whose executable lies on one
// of the containers' root filesystem devices (decimal st_dev strings, at most 256) are copied too, as
// are those with a containers' storage directory on their executable's path ("dev:ino", at most 4096).
// Verdicts are forgotten only when the first three change: a device list changes with every container
// start, and host execs read their executable's device anyway.
static napi_value js_set_filter(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  bool a = false, b = false, c = false;
  if (argc < 3 || napi_is_array(env, argv[0], &a) != napi_ok || !a || napi_is_array(env, argv[1], &b) != napi_ok || !b ||
      napi_is_array(env, argv[2], &c) != napi_ok || !c) {
    napi_throw_type_error(env, NULL, "setFilter(storagePrefixes: string[], runtimeNames: string[], hostNamespaces: number[])");
    return NULL;
  }
  uint32_t host_ns[7] = {0};
  for (uint32_t i = 0; i < 7; i++) {
    napi_value v;
    if (napi_get_element(env, argv[2], i, &v) != napi_ok || napi_get_value_uint32(env, v, &host_ns[i]) != napi_ok) host_ns[i] = 0;
  }
  char *prefixes[MAX_PREFIXES], *runtimes[MAX_RUNTIMES];
  size_t prefix_len[MAX_PREFIXES];
  int np = copy_strings(env, argv[0], prefixes, prefix_len, MAX_PREFIXES);
  int nr = copy_strings(env, argv[1], runtimes, NULL, MAX_RUNTIMES);
  dev_t devices[MAX_DEVICES];
  int nd = 0;
  bool d = false;
  if (argc > 3 && napi_is_array(env, argv[3], &d) == napi_ok && d) {
    char *devs[MAX_DEVICES];
    int n = copy_strings(env, argv[3], devs, NULL, MAX_DEVICES);
    for (int i = 0; i < n; i++) {
      char *end = NULL;
      unsigned long long v = strtoull(devs[i], &end, 10);
      if (end && *end == 0 && end != devs[i]) devices[nd++] = (dev_t)v;
      free(devs[i]);
    }
  }
  // Storage directory identities ("dev:ino"), for storage_dir_on_path().
  static file_id_t dirs[MAX_STORAGE_DIRS];
  int ndirs = 0;
  bool e = false;
  if (argc > 4 && napi_is_array(env, argv[4], &e) == napi_ok && e) {
    uint32_t n = 0;
    napi_get_array_length(env, argv[4], &n);
    for (uint32_t i = 0; i < n && ndirs < MAX_STORAGE_DIRS; i++) {
      napi_value v;
      char buf[48];
      size_t got = 0;
      if (napi_get_element(env, argv[4], i, &v) != napi_ok || napi_get_value_string_utf8(env, v, buf, sizeof buf, &got) != napi_ok) continue;
      unsigned long long dev = 0, ino = 0;
      if (sscanf(buf, "%llu:%llu", &dev, &ino) == 2) dirs[ndirs++] = (file_id_t){dev, ino};
    }
  }
  pthread_mutex_lock(&g_filter_lock);
  memcpy(g_storage_dirs, dirs, (size_t)ndirs * sizeof(file_id_t));
  g_nstorage_dirs = ndirs;
  int changed = np != g_nprefixes || nr != g_nruntimes || memcmp(host_ns, g_host_ns, sizeof g_host_ns) != 0;
  for (int i = 0; i < np && !changed; i++) changed = prefix_len[i] != g_prefix_len[i] || memcmp(prefixes[i], g_prefixes[i], prefix_len[i]) != 0;
  for (int i = 0; i < nr && !changed; i++) changed = strcmp(runtimes[i], g_runtimes[i]) != 0;
  for (int i = 0; i < g_nprefixes; i++) free(g_prefixes[i]);
  for (int i = 0; i < g_nruntimes; i++) free(g_runtimes[i]);
  for (int i = 0; i < np; i++) { g_prefixes[i] = prefixes[i]; g_prefix_len[i] = prefix_len[i]; }
  for (int i = 0; i < nr; i++) g_runtimes[i] = runtimes[i];
  g_nprefixes = np;
  g_nruntimes = nr;
  memcpy(g_host_ns, host_ns, sizeof g_host_ns);
  memcpy(g_devices, devices, (size_t)nd * sizeof(dev_t));
  g_ndevices = nd;
  pthread_mutex_unlock(&g_filter_lock);
  if (g_src && changed) atomic_store(&g_src->forget_verdicts, 1);
  // The first filter of this subscription that knows the host's namespaces: seed the cache with
  // what already runs.
  if (g_src && !g_src->seed_requested && host_ns[0] != 0) {
    g_src->seed_requested = 1;
    atomic_store(&g_src->seed_pending, 1);
  }
  return NULL;
}

// drain(): { snapshots, counts: {fork, exec, …, other}, snapshotsDropped, overruns, lost, received,
// copied, skipped, unchanged, gone, lostExited, lostExecUnread, recheckPasses, recheckReads,
// recheckMoved, recheckCpuSeconds, realtimeReader, exitEvents }. Counters are cumulative; snapshots are handed over once.
static napi_value js_drain(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_object(env, &out);
  source_t *s = g_src;
  if (!s) return out;
  atomic_store(&s->wake_pending, 0);
  pthread_mutex_lock(&s->lock);
  uint64_t counts[N_TYPES];
  memcpy(counts, s->counts, sizeof counts);
  uint64_t overruns = s->overruns, received = s->received, snaps_dropped = s->snaps_dropped, lost = s->lost;
  uint64_t copied = s->copied, skipped = s->skipped, unchanged = s->unchanged, gone = s->gone;
  uint64_t lost_exited = s->lost_exited, lost_exec_unread = s->lost_exec_unread, recheck_passes = s->recheck_passes, recheck_reads = s->recheck_reads, recheck_moved = s->recheck_moved, recheck_cpu_ns = s->recheck_cpu_ns, seeded = s->seeded, ns_cached = s->ns_cached;
  uint32_t sn = s->snap_count;
  snap_t *copy = sn ? malloc((size_t)sn * sizeof(snap_t)) : NULL;
  if (copy) {
    for (uint32_t i = 0; i < sn; i++) copy[i] = s->snaps[(s->snap_head + i) % SNAP_CAPACITY];
    // Empty again: the next copies start at slot 0, so that a steady trickle keeps touching the same
    // few pages; after a burst, the pages past SNAP_KEEP go back to the kernel. Without this the head
    // walks the whole ring and all of its ~10 MiB stay resident on any busy host.
    s->snap_head = 0;
    s->snap_count = 0;
    if (s->snap_hwm > SNAP_KEEP) {
      size_t page = (size_t)sysconf(_SC_PAGESIZE);
      size_t from = ((size_t)SNAP_KEEP * sizeof(snap_t) + page - 1) / page * page;
      size_t to = (size_t)s->snap_hwm * sizeof(snap_t);
      if (to > from) madvise((char *)s->snaps + from, to - from, MADV_DONTNEED);
      s->snap_hwm = SNAP_KEEP;
    }
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
    const char *event = p->event == EV_FORK ? "fork" : p->event == EV_EXEC ? "exec" : p->event == EV_RECHECK ? "recheck" : "uid";
    napi_create_string_utf8(env, event, NAPI_AUTO_LENGTH, &v); napi_set_named_property(env, o, "event", v);
    napi_create_array_with_length(env, 7, &ns);
    for (uint32_t k = 0; k < 7; k++) { napi_create_uint32(env, p->ns[k], &v); napi_set_element(env, ns, k, v); }
    napi_set_named_property(env, o, "ns", ns);
    set_string(env, o, "status", p->status, p->len_status);
    set_string(env, o, "cgroup", p->cgroup, p->len_cgroup);
    set_string(env, o, "stat", p->stat, p->len_stat);
    set_string(env, o, "exe", p->exe, p->len_exe);
    set_string(env, o, "parentExe", p->pexe, p->len_pexe);
    set_string(env, o, "cmdline", p->cmdline, p->len_cmdline);
    set_string(env, o, "exeId", p->exe_id, p->len_exe_id);
    set_string(env, o, "storageDir", p->storage_dir, p->len_storage_dir);
    set_string(env, o, "parentExeId", p->pexe_id, p->len_pexe_id);
    napi_set_element(env, snaps, i, o);
  }
  free(copy);
  napi_value by_type;
  napi_create_object(env, &by_type);
  for (int i = 0; i < N_TYPES; i++) set_number(env, by_type, TYPE_NAMES[i], counts[i]);
  napi_set_named_property(env, out, "snapshots", snaps);
  napi_set_named_property(env, out, "counts", by_type);
  set_number(env, out, "snapshotsDropped", snaps_dropped);
  set_number(env, out, "overruns", overruns);
  set_number(env, out, "lost", lost);
  set_number(env, out, "received", received);
  set_number(env, out, "copied", copied);
  set_number(env, out, "skipped", skipped);
  set_number(env, out, "unchanged", unchanged);
  set_number(env, out, "gone", gone);
  set_number(env, out, "lostExited", lost_exited);
  set_number(env, out, "lostExecUnread", lost_exec_unread);
  set_number(env, out, "recheckPasses", recheck_passes);
  set_number(env, out, "recheckReads", recheck_reads);
  set_number(env, out, "recheckMoved", recheck_moved);
  set_number(env, out, "recheckCpuSeconds", (double)recheck_cpu_ns / 1e9);
  set_number(env, out, "namespaceCacheEntries", ns_cached);
  set_number(env, out, "seeded", seeded);
  napi_value rtv;
  napi_get_boolean(env, s->realtime, &rtv);
  napi_set_named_property(env, out, "realtimeReader", rtv);
  napi_value exits;
  napi_get_boolean(env, s->exits, &exits);
  napi_set_named_property(env, out, "exitEvents", exits);
  return out;
}

// Mount tables of containers, watched by poll(): the kernel marks an open /proc/<pid>/mountinfo
// POLLPRI|POLLERR when its mount namespace's table changed since the last poll (mounts_poll()), so
// a mount in a container is seen without reading the table. JavaScript thread only (no lock): the
// reader thread never touches these.
#define MAX_MOUNT_WATCHES 4096
static struct pollfd g_mount_fds[MAX_MOUNT_WATCHES];
static int32_t g_mount_pids[MAX_MOUNT_WATCHES];
static int g_nmount = 0;

// watchMounts(pids: number[]): number. Watch these processes' mount tables (containers' inits),
// keeping the fds of pids already watched (an fd holds its mount namespace, whatever becomes of the
// pid); returns how many are watched (a pid gone before it was opened is not).
static napi_value js_watch_mounts(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  bool is_array = false;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(env, NULL, "watchMounts(pids: number[])");
    return NULL;
  }
  uint32_t n = 0;
  napi_get_array_length(env, argv[0], &n);
  static int32_t want[MAX_MOUNT_WATCHES];
  int nwant = 0;
  for (uint32_t i = 0; i < n && nwant < MAX_MOUNT_WATCHES; i++) {
    napi_value v;
    int32_t pid = 0;
    if (napi_get_element(env, argv[0], i, &v) == napi_ok && napi_get_value_int32(env, v, &pid) == napi_ok && pid > 0) want[nwant++] = pid;
  }
  // Keep the watches still wanted, close the others.
  int kept = 0;
  for (int i = 0; i < g_nmount; i++) {
    int still = 0;
    for (int j = 0; j < nwant && !still; j++) still = want[j] == g_mount_pids[i];
    if (still) {
      g_mount_fds[kept] = g_mount_fds[i];
      g_mount_pids[kept++] = g_mount_pids[i];
    } else {
      close(g_mount_fds[i].fd);
    }
  }
  g_nmount = kept;
  for (int j = 0; j < nwant && g_nmount < MAX_MOUNT_WATCHES; j++) {
    int have = 0;
    for (int i = 0; i < g_nmount && !have; i++) have = g_mount_pids[i] == want[j];
    if (have) continue;
    char path[PROC_ROOT_MAX + 24];
    snprintf(path, sizeof path, "%s/%d/mountinfo", g_proc, want[j]);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    g_mount_fds[g_nmount] = (struct pollfd){.fd = fd, .events = POLLPRI};
    g_mount_pids[g_nmount++] = want[j];
  }
  napi_value out;
  napi_create_int32(env, g_nmount, &out);
  return out;
}

// mountsChanged(): number[]. The watched pids whose mount table changed since the last call (one
// poll() with no wait).
static napi_value js_mounts_changed(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_array(env, &out);
  if (g_nmount == 0 || poll(g_mount_fds, (nfds_t)g_nmount, 0) <= 0) return out;
  uint32_t k = 0;
  for (int i = 0; i < g_nmount; i++) {
    if (!(g_mount_fds[i].revents & (POLLPRI | POLLERR))) continue;
    napi_value v;
    napi_create_int32(env, g_mount_pids[i], &v);
    napi_set_element(env, out, k++, v);
  }
  return out;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  (void)env; (void)info;
  source_t *s = g_src;
  if (!s) return NULL;
  g_src = NULL;
  atomic_store(&s->stop, 1);
  if (s->thread_started) pthread_join(s->thread, NULL);
  subscribe(s->fd, PROC_CN_MCAST_IGNORE, !s->exits);
  close(s->fd);
  napi_release_threadsafe_function(s->tsfn, napi_tsfn_abort);
  pthread_mutex_destroy(&s->lock);
  if (s->snaps) munmap(s->snaps, SNAP_BYTES);
  anon_free(s->verdict, s->verdict_cap);
  anon_free(s->ns_cache, NS_CACHE_BYTES);
  free(s);
  strcpy(g_proc, "/proc");  // watchMounts() outside an open() reads the default view
  return NULL;
}

// glibc keeps the memory a burst freed in its arenas (one per thread that allocated); malloc_trim()
// hands the free pages back to the system. The daemon calls it after a memory-reducing collection
// (src/runtime/memory.ts). Returns whether any memory was released; false where there is no glibc.
static napi_value js_trim_native_heap(napi_env env, napi_callback_info info) {
  (void)info;
  int released = 0;
#ifdef __GLIBC__
  released = malloc_trim(0);
#endif
  napi_value out;
  napi_get_boolean(env, released != 0, &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
    {"drain", NULL, js_drain, NULL, NULL, NULL, napi_default, NULL},
    {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
    {"setFilter", NULL, js_set_filter, NULL, NULL, NULL, napi_default, NULL},
    {"watchMounts", NULL, js_watch_mounts, NULL, NULL, NULL, napi_default, NULL},
    {"mountsChanged", NULL, js_mounts_changed, NULL, NULL, NULL, napi_default, NULL},
    {"trimNativeHeap", NULL, js_trim_native_heap, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
