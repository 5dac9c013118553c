// Loads the kernel-audit addon (native/audit_events.c). Optional, like the process connector: when it
// was not built or cannot load, rootwatch runs without it and says why. The addon asks the kernel
// for its audit state, adds and removes rootwatch's own syscall rules, and copies the /proc facts of
// each process a rule recorded; this module only names what it delivers.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** AUDIT_GET: whether auditing is on, which process is the audit daemon (0: none), records the kernel lost. */
export interface AuditStatus {
  enabled: number;
  pid: number;
  lost: number;
  backlogLimit: number;
}

/**
 * Three rules per syscall table (b64; b32 on x86_64): setns/unshare/mount/module loads, ptrace attach,
 * ptrace seize; named b64, b64-ptrace-attach, b64-ptrace-seize. Added now, or already there (not ours to remove).
 */
export interface AuditRuleOutcome {
  arch: string;
  outcome: 'added' | 'present';
}

/**
 * A SYSCALL record keyed rootwatch, with what the reader thread read of its process at once (the
 * RawProcessCapture fields, empty when the process had exited).
 */
export interface AuditRecord {
  pid: number;
  ppid: number;
  /** The syscall number in the record's arch (see AUDIT_SYSCALLS). */
  syscall: number;
  /** AUDIT_ARCH_* of the caller (0xc000003e x86_64, 0x40000003 i386). */
  arch: number;
  /** The process had exited (or was a zombie) before it could be read. */
  gone: boolean;
  ns: number[];
  comm: string;
  status: string;
  cgroup: string;
  stat: string;
  exe: string;
  parentExe: string;
  /** "dev:ino" of the executable and of the parent's, read with the record ('' when unreadable). */
  exeId: string;
  parentExeId: string;
  /** The parent's cgroup, read only when the process was gone: which container lost a record. */
  parentCgroup: string;
  cmdline: string;
}

export interface AuditBatch {
  records: AuditRecord[];
  /** Cumulative: every record received on the multicast group (all rules', not only ours). */
  received: number;
  /** Cumulative: records of rootwatch's rules, and among them those whose process was gone. */
  matched: number;
  gone: number;
  /** Cumulative: records with no room in the copy ring, and socket overruns (ENOBUFS). */
  ringDropped: number;
  overruns: number;
  /** Cumulative: records beyond the reader's budget of /proc reads (2,000/s), counted and not read. */
  throttled: number;
  realtimeReader: boolean;
}

export interface AuditAddon {
  status(): AuditStatus;
  addRules(): AuditRuleOutcome[];
  /** Removes the named rules (by arch); returns how many the kernel still had. */
  removeRules(arches: string[]): number;
  /** `procRoot` (default /proc): where the host's procfs is mounted (`paths.procfs`); the processes a record names are read through it. */
  open(onRecords: () => void, procRoot?: string): void;
  drain(): AuditBatch;
  close(): void;
}

/** Syscall names by number, per arch, for logs and evidence. */
export const AUDIT_SYSCALLS: Record<number, Record<number, string>> = {
  0xc000003e: { 308: 'setns', 272: 'unshare', 165: 'mount', 101: 'ptrace', 175: 'init_module', 313: 'finit_module' },
  0x40000003: { 346: 'setns', 310: 'unshare', 21: 'mount', 26: 'ptrace', 128: 'init_module', 350: 'finit_module' },
};

export function syscallName(arch: number, nr: number): string {
  return AUDIT_SYSCALLS[arch]?.[nr] ?? String(nr);
}

/** The addon, or why it is unavailable. Built by `npm run build:native` beside the process connector. */
export function loadAuditAddon(): { addon: AuditAddon | null; reason: string } {
  const candidates = ['../../native/build/Release/audit_events.node', '../../../native/build/Release/audit_events.node'].map((rel) =>
    fileURLToPath(new URL(rel, import.meta.url)),
  );
  const path = candidates.find((p) => existsSync(p));
  if (!path) return { addon: null, reason: 'audit addon not built (npm run build:native)' };
  try {
    const addon = createRequire(import.meta.url)(path) as Partial<AuditAddon>;
    const missing = (['status', 'addRules', 'removeRules', 'open', 'drain', 'close'] as const).filter((f) => typeof addon[f] !== 'function');
    if (missing.length > 0) return { addon: null, reason: `audit addon ${path} is out of date (no ${missing.join(', ')}): run npm run build:native` };
    return { addon: addon as AuditAddon, reason: `loaded ${path}` };
  } catch (e) {
    return { addon: null, reason: `audit addon failed to load: ${(e as Error).message.split('\n')[0]}` };
  }
}
