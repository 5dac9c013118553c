{
  "targets": [
    {
      "target_name": "proc_events",
      "sources": ["proc_events.c"],
      "cflags": ["-Wall", "-Wextra", "-O2", "-std=gnu11"],
      "libraries": ["-lpthread"]
    },
    {
      "target_name": "audit_events",
      "sources": ["audit_events.c"],
      "cflags": ["-Wall", "-Wextra", "-O2", "-std=gnu11"],
      "libraries": ["-lpthread"]
    }
  ]
}
