// Every metric rootwatch exports, as data: name, type, help and label names. The registry is built
// from this list and the README's metric table is generated from it, so the two cannot drift.

export type MetricType = 'gauge' | 'counter' | 'histogram';

export interface MetricSpec {
  name: string;
  type: MetricType;
  help: string;
  labels: readonly string[];
  buckets?: number[];
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export const METRICS = {
  buildInfo: { name: 'rootwatch_build_info', type: 'gauge', help: 'Always 1; labels carry the rootwatch version and the Node.js version running it.', labels: ['version', 'node_version'] },
  dockerUp: { name: 'rootwatch_docker_up', type: 'gauge', help: '1 when the Docker event stream is connected, 0 while rootwatch is reconnecting. One series per engine, labelled engine, on a host that follows several.', labels: ['engine'] },
  dockerReconnects: { name: 'rootwatch_docker_reconnects_total', type: 'counter', help: 'Times the connection to Docker was lost and rootwatch started reconnecting.', labels: [] },
  dockerEvents: { name: 'rootwatch_docker_events_total', type: 'counter', help: 'Docker container events received, by action (bounded set; unknown actions count as "other").', labels: ['action'] },
  dockerErrors: { name: 'rootwatch_docker_errors_total', type: 'counter', help: 'Failed or unusable answers of the Docker API, by operation (info, version, list, inspect, inspect_exec, events); a failed inspect is retried with backoff.', labels: ['op'] },
  dockerEventErrors: { name: 'rootwatch_docker_event_errors_total', type: 'counter', help: 'Malformed lines on the Docker event stream, dropped.', labels: [] },
  containers: { name: 'rootwatch_containers', type: 'gauge', help: 'Running containers monitored (per engine, labelled engine, on a host that follows several).', labels: ['engine'] },
  containerFinding: { name: 'rootwatch_container_finding', type: 'gauge', help: '1 per current non-excepted finding of a running container; engine only on a host that follows several engines.', labels: ['container_id', 'container_name', 'image', 'rule', 'severity', 'engine'] },
  findings: { name: 'rootwatch_findings', type: 'gauge', help: 'Running containers with a non-excepted finding of this rule and severity now.', labels: ['rule', 'severity'] },
  findingsExcepted: { name: 'rootwatch_findings_excepted', type: 'gauge', help: 'Running containers with a finding of this rule accepted by an operator exception.', labels: ['rule'] },
  exceptionsExpired: { name: 'rootwatch_exceptions_expired', type: 'gauge', help: 'Configured exceptions whose expiry date has passed (they no longer apply).', labels: [] },
  hostFinding: { name: 'rootwatch_host_finding', type: 'gauge', help: '1 per current non-excepted host finding (daemon posture, known CVEs); cve is empty for non-CVE rules; engine only on a host that follows several engines.', labels: ['rule', 'severity', 'cve', 'engine'] },
  hostInfo: { name: 'rootwatch_host_info', type: 'gauge', help: 'Always 1; labels describe the host: kernel, distribution, the engine (docker or podman; on a host that follows several, one series each, engine naming it: docker, podman, podman-<uid>) and its version, the runc, containerd or other OCI runtime versions, cgroup version, user-namespace remapping.', labels: ['kernel', 'distro', 'engine', 'docker_version', 'podman_version', 'runc_version', 'containerd_version', 'oci_runtime', 'cgroup_version', 'userns_remap', 'rootless'] },
  auditDuration: { name: 'rootwatch_audit_duration_seconds', type: 'histogram', help: 'Time from a Docker event received to the container\'s findings published.', labels: [], buckets: LATENCY_BUCKETS },
  breakoutProcesses: { name: 'rootwatch_breakout_processes', type: 'gauge', help: 'Processes currently seen breaking out of a container (or hooks pointing into one), by reason; engine only on a host that follows several engines.', labels: ['container_id', 'container_name', 'image', 'reason', 'engine'] },
  breakoutDetections: { name: 'rootwatch_breakout_detections_total', type: 'counter', help: 'Breakout detections, once per process (or hook change), kept even after the process is gone.', labels: ['reason'] },
  responseActions: { name: 'rootwatch_response_actions_total', type: 'counter', help: 'Responses to breakout detections that a response rule names, by action (pause, stop, kill), reason and result: done, dry_run (mode dry_run: logged only), skipped (excepted, own container, already acted on, per-minute budget spent) or failed (Docker refused or unreachable).', labels: ['action', 'reason', 'result'] },
  procScanDuration: { name: 'rootwatch_proc_scan_duration_seconds', type: 'histogram', help: 'Duration of one periodic breakout pass, by pass: full (container processes listed from the cgroup tree and read, new host pids, escape hooks, modules, mounts) or light (with process events, between full ones every 30 s: escape hooks, modules, a third of the containers\' mount tables and of their cgroup member lists; container processes and new host pids are the process events\' and the addon\'s re-check\'s).', labels: ['pass'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1] },
  procScanErrors: { name: 'rootwatch_proc_scan_errors_total', type: 'counter', help: 'Breakout scans that failed with an unexpected error (logged); the next scan runs as usual.', labels: [] },
  processEvents: { name: 'rootwatch_process_events_total', type: 'counter', help: 'Process events received from the kernel process connector, by type.', labels: ['type'] },
  processEventsExamined: { name: 'rootwatch_process_events_examined_total', type: 'counter', help: 'Processes of fork, exec and uid events by what the addon did: copied for the detectors, skipped (host process with nothing to judge), unchanged (a container fork child in its parent\'s namespaces, or a container exec in the state its process was last judged in: same namespaces, root, working-directory filesystem, no new capability), gone (exited before it could be read).', labels: ['outcome'] },
  processEventsDropped: { name: 'rootwatch_process_events_dropped_total', type: 'counter', help: 'Process events lost in bursts (dropped by the kernel on socket overrun, or copies with no room in the ring); each loss triggers a full scan. Kept for existing dashboards: rootwatch_process_events_lost_total has these and the processes that exited before they were read.', labels: [] },
  processEventsLost: { name: 'rootwatch_process_events_lost_total', type: 'counter', help: 'Process events whose process was never judged, by why: kernel_dropped (socket overrun), copy_ring_full, exited_before_read (a container-side process that exited before the addon could read it, and whose namespaces nothing vouches for: never read, or a fork child whose parent is gone or moved), exec_unread (an exec or uid change of a container process read before, gone before the event was read: a busy container\'s short execs; not paged on), audit_unread (with breakout.audit: a container process\'s setns/unshare/mount/ptrace/module record whose process exited before it was read), audit_dropped (audit records the kernel lost with its backlog full, or the listener had no room for). Each but exec_unread triggers a catch-up full scan (at most one per second for exited_before_read).', labels: ['why'] },
  processNamespaceRecheckSeconds: { name: 'rootwatch_process_namespace_recheck_cpu_seconds_total', type: 'counter', help: 'CPU time the addon\'s reader thread spent in the periodic namespace re-check: its cost, which grows with the container processes it has read.', labels: [] },
  processNamespaceCacheEntries: { name: 'rootwatch_process_namespace_cache_entries', type: 'gauge', help: 'Container processes the addon holds for its periodic re-check (live ones, and exited ones until their queued events are handled): what the re-check\'s cost follows. Falls back after a fork storm.', labels: [] },
  processNamespaceRechecks: { name: 'rootwatch_process_namespace_rechecks_total', type: 'counter', help: 'The addon\'s periodic re-read of container processes it has read: the namespaces of those that may call setns every 500 ms, the root and working directory of the others every second; processes read, and processes found moved since (copied and judged; a setns or a cd without exec sends no event).', labels: ['outcome'] },
  auditRecords: { name: 'rootwatch_audit_records_total', type: 'counter', help: 'Records of rootwatch\'s audit rules (breakout.audit: setns, unshare, mount, ptrace, init_module, finit_module, host-wide) by outcome: copied (the process read at once and judged) or gone (exited first; a loss when it was a container\'s).', labels: ['outcome'] },
  processSource: { name: 'rootwatch_process_source', type: 'gauge', help: '1 for the active source of new-process information: netlink (kernel process connector) or poll (/proc scans only); audit: 1 while the kernel audit source (breakout.audit) runs beside them, 0 when off or suspended (no audit daemon).', labels: ['source'] },
  configReloadFailures: { name: 'rootwatch_config_reload_failures_total', type: 'counter', help: 'Config reloads rejected (invalid file); the previous config stays in force.', labels: [] },
  configLastReloadSuccess: { name: 'rootwatch_config_last_reload_success_timestamp_seconds', type: 'gauge', help: 'Unix time of the last successful config load.', labels: [] },
  memoryTrims: { name: 'rootwatch_memory_trims_total', type: 'counter', help: 'Memory-reducing garbage collections the daemon ran because a burst (container churn, an event storm) grew its JavaScript heap by 4 MiB or more since the last one; at most one per 30 s. Each compacts the heap and hands the freed pages, and glibc\'s free arena pages, back to the system.', labels: [] },
  auditErrors: { name: 'rootwatch_audit_errors_total', type: 'counter', help: 'Errors while auditing (failed inspects, failing rules); each is also logged.', labels: [] },
} as const satisfies Record<string, MetricSpec>;

export const ALL_METRICS: MetricSpec[] = Object.values(METRICS);
