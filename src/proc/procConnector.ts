// Loads the native process-connector addon (native/proc_events.c). It is optional: when it was not
// built, cannot load, or the kernel/capabilities refuse the socket, rootwatch polls /proc instead and
// says why. The addon only receives and decodes; this module only names what it delivers.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Kernel event codes (linux/cn_proc.h `enum what`). */
export const PROC_EVENT = {
  fork: 0x1,
  exec: 0x2,
  uid: 0x4,
  ptrace: 0x100,
  gid: 0x40,
  sid: 0x80,
  comm: 0x200,
  coredump: 0x40000000,
  exit: 0x80000000,
} as const;

export type ProcEventName = keyof typeof PROC_EVENT | 'other';

const NAME_BY_CODE = new Map<number, ProcEventName>(Object.entries(PROC_EVENT).map(([k, v]) => [v, k as ProcEventName]));

/** Each record is 6 int32: type, pid, tgid, a, b, c (fork: parent pid/tgid; uid: ruid/euid). */
export const RECORD_INTS = 6;

export function eventName(code: number): ProcEventName {
  return NAME_BY_CODE.get(code >>> 0) ?? 'other';
}

/** Raw facts the addon copied at event time, for processes that may be gone when JS looks. */
export interface RawProcessCapture {
  pid: number;
  /** Namespace inode numbers in NS_KINDS order (mnt, pid, net, ipc, uts, cgroup, user); 0 = unreadable. */
  ns: number[];
  status: string;
  cgroup: string;
  stat: string;
  exe: string;
  parentExe: string;
  /** NUL-separated, as in /proc/<pid>/cmdline (possibly cut). */
  cmdline: string;
}

export interface ProcEventBatch {
  snapshots: RawProcessCapture[];
  /** Cumulative: captures the snapshot ring had no room for. */
  snapshotsDropped: number;
  records: Int32Array;
  /** Cumulative: records the addon's ring had no room for. */
  dropped: number;
  /** Cumulative: ENOBUFS from the socket (the kernel dropped events; how many is in `lost`). */
  overruns: number;
  /** Cumulative: events missing from the connector's per-CPU sequence numbers (dropped by the kernel). */
  lost: number;
  received: number;
}

export interface ProcConnectorAddon {
  open(onEvents: () => void, capacity?: number): void;
  drain(): ProcEventBatch;
  close(): void;
}

/** The addon, or why it is unavailable. Built by `npm run build:native` (node-gyp). */
export function loadProcConnector(): { addon: ProcConnectorAddon | null; reason: string } {
  const candidates = ['../../native/build/Release/proc_events.node', '../../../native/build/Release/proc_events.node'].map((rel) =>
    fileURLToPath(new URL(rel, import.meta.url)),
  );
  const path = candidates.find((p) => existsSync(p));
  if (!path) return { addon: null, reason: 'native addon not built (npm run build:native needs g++, make, python3 and Node headers)' };
  try {
    const addon = createRequire(import.meta.url)(path) as ProcConnectorAddon;
    return { addon, reason: `loaded ${path}` };
  } catch (e) {
    return { addon: null, reason: `native addon failed to load: ${(e as Error).message.split('\n')[0]}` };
  }
}
