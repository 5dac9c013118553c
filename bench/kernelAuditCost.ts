// kernelAuditCost: what rootwatch's audit source (breakout.audit) costs the host. A static C loop
// times syscalls, one kind at a time, in three states of the kernel's audit subsystem:
//   (a) auditing off, no audit daemon (the reference VM as found; skipped when the host runs auditd);
//   (b) auditd running, no rootwatch rules;
//   (c) auditd plus rootwatch's rules, with the listener open in this process and draining: the whole
//       path, including the reader thread's /proc reads for every record.
// Loops: getppid (any syscall's audit entry/exit work), fork+wait, fork+exec of /bin/true (a process
// start: not recorded, pays the syscall-exit filter), setns into its own uts namespace and a tmpfs
// mount+umount in a private mount namespace (recorded: one record each, the records/s upper bound).
// For (c): records matched per second, CPU of this process (the reader) and of auditd per record.
// Needs root, gcc (static) and auditd. Leaves the audit state as found.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAuditAddon } from '../src/proc/auditSource.js';
import { auditState, ensureAuditd } from '../test/harness/auditd.js';
import { printBenchJson, printBlock, progress } from './lib.js';

const LOOP_C = String.raw`
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e9 + t.tv_nsec; }
int main(int argc, char **argv) {
  const char *kind = argv[1]; long n = strtol(argv[2], NULL, 10);
  int fd = open("/proc/self/ns/uts", O_RDONLY);
  if (!strcmp(kind, "mount") && unshare(CLONE_NEWNS) != 0) { perror("unshare"); return 1; }
  if (!strcmp(kind, "mount")) mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
  double t0 = now();
  for (long i = 0; i < n; i++) {
    if (!strcmp(kind, "getppid")) syscall(SYS_getppid);
    else if (!strcmp(kind, "fork")) { pid_t p = fork(); if (p == 0) _exit(0); waitpid(p, NULL, 0); }
    else if (!strcmp(kind, "exec")) { pid_t p = fork(); if (p == 0) { execl("/bin/true", "true", (char *)0); _exit(1); } waitpid(p, NULL, 0); }
    else if (!strcmp(kind, "setns")) { if (setns(fd, CLONE_NEWUTS) != 0) { perror("setns"); return 1; } }
    else if (!strcmp(kind, "mount")) { if (mount("none", "/mnt", "tmpfs", 0, NULL) != 0) { perror("mount"); return 1; } umount("/mnt"); }
  }
  printf("%.1f\n", (now() - t0) / n);
  return 0;
}
`;

const LOOPS: [string, number][] = [['getppid', 2_000_000], ['fork', 3000], ['exec', 1000], ['setns', 50_000], ['mount', 20_000]];
const RUNS = 3;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function cpuOf(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100; // utime + stime, seconds (USER_HZ 100)
}

export async function main(): Promise<void> {
  const { addon, reason } = loadAuditAddon();
  if (!addon) throw new Error(reason);
  const dir = mkdtempSync('/tmp/rw-kaudit-');
  const bin = join(dir, 'loop');
  writeFileSync(join(dir, 'loop.c'), LOOP_C);
  execFileSync('gcc', ['-static', '-O2', '-o', bin, join(dir, 'loop.c')]);
  // Asynchronous, so that the listener's callback drains records while a loop runs (as the daemon does).
  const run = promisify(execFile);
  const time = async (kind: string, n: number): Promise<number> => {
    const xs: number[] = [];
    for (let i = 0; i < RUNS; i++) xs.push(Number((await run(bin, [kind, String(n)], { encoding: 'utf8' })).stdout.trim()));
    return median(xs);
  };
  const timeAll = async (): Promise<Record<string, number>> => {
    const out: Record<string, number> = {};
    for (const [k, n] of LOOPS) out[k] = await time(k, n);
    return out;
  };
  const results: Record<string, Record<string, number>> = {};
  const rows: [string, string][] = [];
  const found = auditState();
  let handle: Awaited<ReturnType<typeof ensureAuditd>> | null = null;
  try {
    if (found.pid === 0 && found.enabled === 0) {
      progress('(a) auditing off, no audit daemon');
      results.off = await timeAll();
    }
    handle = await ensureAuditd();
    progress('(b) auditd, no rootwatch rules');
    results.auditd = await timeAll();
    progress('(c) auditd + rootwatch rules + listener');
    const added = addon.addRules().filter((o) => o.outcome === 'added').map((o) => o.arch);
    // Drained as the daemon does (on the reader's wake-up); the figures come from the cumulative counters.
    addon.open(() => void addon.drain());
    try {
      results.rules = {};
      const auditdPid = auditState().pid;
      const lost0 = addon.status().lost;
      for (const [k, n] of LOOPS) {
        const m0 = addon.drain();
        const cpu0 = process.cpuUsage();
        const d0 = cpuOf(auditdPid);
        const t0 = performance.now();
        results.rules[k] = await time(k, n);
        const wall = (performance.now() - t0) / 1000;
        await new Promise((res) => setTimeout(res, 300)); // the listener catches up
        const m1 = addon.drain();
        const cpu = process.cpuUsage(cpu0);
        const matched = m1.matched - m0.matched;
        if (matched > 0) {
          results.rules[`${k}_records_per_s`] = matched / wall;
          results.rules[`${k}_reader_us_per_record`] = ((cpu.user + cpu.system) / matched);
          results.rules[`${k}_auditd_us_per_record`] = ((cpuOf(auditdPid) - d0) * 1e6) / matched;
          results.rules[`${k}_lost_in_listener`] = (m1.ringDropped - m0.ringDropped) + (m1.overruns - m0.overruns);
          results.rules[`${k}_throttled`] = m1.throttled - m0.throttled;
        }
      }
      results.rules.kernel_lost = addon.status().lost - lost0;
    } finally {
      addon.close();
      addon.removeRules(added);
    }
  } finally {
    await handle?.restore();
    rmSync(dir, { recursive: true, force: true });
  }
  for (const [k] of LOOPS) {
    const cell = (c: string): string => (results[c]?.[k] !== undefined ? `${(results[c]?.[k] as number).toFixed(k === 'getppid' ? 1 : 0)}` : 'n/a');
    rows.push([`${k} (ns/op)`, `off ${cell('off')} | auditd ${cell('auditd')} | +rules+listener ${cell('rules')}`]);
    const rps = results.rules?.[`${k}_records_per_s`];
    if (rps !== undefined) {
      rows.push([`  ${k} records`, `${Math.round(rps)}/s; reader ${(results.rules?.[`${k}_reader_us_per_record`] as number).toFixed(1)} µs/record, auditd ${(results.rules?.[`${k}_auditd_us_per_record`] as number).toFixed(1)} µs/record; listener lost ${results.rules?.[`${k}_lost_in_listener`]}, beyond the read budget ${results.rules?.[`${k}_throttled`]}`]);
    }
  }
  rows.push(['kernel lost (+rules)', String(results.rules?.kernel_lost ?? 'n/a')]);
  printBlock('kernelAuditCost: syscall cost with rootwatch\'s audit rules (median of 3 runs)', rows);
  printBenchJson({ bench: 'kernelAuditCost', ...results });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
