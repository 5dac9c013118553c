// What both addons (proc_events.c, audit_events.c) need alike: the procfs root they read through,
// raw reads of one process's /proc files relative to its opened /proc/<pid> directory, and the
// N-API plumbing of their drain().
// Include after the system headers; define ADDON_ERROR_CODE (the error code of throw_errno for
// anything but EPERM/EACCES) first.
#ifndef ROOTWATCH_ADDON_UTIL_H
#define ROOTWATCH_ADDON_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef ADDON_ERROR_CODE
#error "define ADDON_ERROR_CODE before including addon_util.h"
#endif

// Where the host's procfs is mounted: rootwatch's `paths.procfs` ("/proc" by default, "/host/proc"
// when rootwatch runs in a container). Every /proc read of an addon goes through it, so that the
// addon and the periodic scan read one view. Set by the addon's open() before its reader thread
// starts, and not changed while that runs.
#define PROC_ROOT_MAX 200
static char g_proc[PROC_ROOT_MAX + 1] = "/proc";

// The optional procRoot argument of open(): absent or undefined keeps "/proc". Throws (returns 0)
// for anything but an absolute path that fits.
static inline int proc_root_arg(napi_env env, napi_value v) {
  napi_valuetype t = napi_undefined;
  if (v == NULL || napi_typeof(env, v, &t) != napi_ok || t == napi_undefined) {
    strcpy(g_proc, "/proc");
    return 1;
  }
  char buf[PROC_ROOT_MAX + 2];
  size_t len = 0;
  if (t != napi_string || napi_get_value_string_utf8(env, v, buf, sizeof buf, &len) != napi_ok || len == 0 || len > PROC_ROOT_MAX || buf[0] != '/') {
    napi_throw_type_error(env, NULL, "procRoot must be an absolute path of at most 200 bytes");
    return 0;
  }
  while (len > 1 && buf[len - 1] == '/') buf[--len] = 0;  // "/host/proc/" reads as "/host/proc"
  memcpy(g_proc, buf, len + 1);
  return 1;
}

// A process's /proc directory under g_proc, as an O_PATH descriptor for the *at() reads below; -1
// when it is gone.
static inline int open_pid_dir(int32_t pid) {
  char path[PROC_ROOT_MAX + 16];
  snprintf(path, sizeof path, "%s/%d", g_proc, pid);
  return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static inline napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, err == EPERM || err == EACCES ? "EPERM" : ADDON_ERROR_CODE, msg);
  return NULL;
}

// One read of a file of a process: /proc files are generated whole at the first read.
static inline uint16_t read_file(int dir, const char *name, char *buf, size_t cap) {
  int fd = openat(dir, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, cap);
  close(fd);
  return n > 0 ? (uint16_t)n : 0;
}

static inline uint16_t read_link_at(int dir, const char *name, char *buf, size_t cap) {
  ssize_t n = readlinkat(dir, name, buf, cap);
  return n > 0 ? (uint16_t)n : 0;
}

// "dev:ino" of what a /proc link points to (stat follows it, also for memfd and deleted files).
static inline uint16_t file_id_at(int dir, const char *name, char *buf, size_t cap) {
  struct stat st;
  if (fstatat(dir, name, &st, 0) != 0) return 0;
  int n = snprintf(buf, cap, "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
  return n > 0 && (size_t)n < cap ? (uint16_t)n : 0;
}

static inline void set_number(napi_env env, napi_value obj, const char *key, double x) {
  napi_value v;
  napi_create_double(env, x, &v);
  napi_set_named_property(env, obj, key, v);
}

static inline void set_string(napi_env env, napi_value obj, const char *key, const char *bytes, size_t len) {
  napi_value v;
  // latin1: these are bytes (paths, comm) and must never fail to decode.
  napi_create_string_latin1(env, bytes, len, &v);
  napi_set_named_property(env, obj, key, v);
}

#endif
