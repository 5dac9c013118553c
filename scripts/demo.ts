// `npm run demo`: a one-minute tour. Starts a private Docker engine, runs a few risky containers and
// one real breakout, runs rootwatch against it, shows what it found, and cleans everything up.
import { execFile } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { startDaemon } from '../src/cli/run.js';
import { validateConfig } from '../src/config/load.js';
import { parseEndpoint } from '../src/docker/endpoint.js';
import { createLogger } from '../src/log/logger.js';
import { dockerUnavailableReason, ensureTestImage, sleep, startPrivateDockerd, TEST_IMAGE, type PrivateEngine } from '../test/harness/privateDockerd.js';

const execFileP = promisify(execFile);
const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const red = (s: string): string => (process.stdout.isTTY ? `\x1b[31;1m${s}\x1b[0m` : s);
const step = (s: string): void => console.log(`\n${bold(`==> ${s}`)}`);

async function main(): Promise<void> {
  const missing = dockerUnavailableReason();
  if (missing) {
    console.error(`demo: ${missing}`);
    process.exit(2);
  }
  step('Starting a private Docker engine (its own socket and data dir; your engine is not touched)');
  const eng: PrivateEngine = await startPrivateDockerd('demo');
  const cleanup = async (): Promise<void> => {
    step('Cleaning up');
    await eng.destroy();
  };
  // Whatever ends the demo (Ctrl-C, kill, the reader of a pipe going away), the engine goes too.
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  process.once('SIGTERM', () => void cleanup().finally(() => process.exit(143)));
  process.stdout.on('error', () => void cleanup().finally(() => process.exit(0)));
  try {
    await ensureTestImage(eng);

    step('Starting rootwatch against it');
    const alerts: Record<string, unknown>[] = [];
    const stream = new PassThrough();
    stream.on('data', (b: Buffer) => {
      for (const l of b.toString().split('\n')) {
        if (!l.trim()) continue;
        const e = JSON.parse(l) as Record<string, unknown>;
        if (e.event === 'alert') alerts.push(e);
      }
    });
    const daemon = await startDaemon({
      config: validateConfig({ breakout: { interval: '250ms', host_reference_pid: eng.pid() } }, 'demo'),
      endpoints: [parseEndpoint(eng.dockerHost, {})], configFile: '/dev/null', configExplicit: false,
      listen: '127.0.0.1:0', logger: createLogger({ level: 'info', stream }),
    });
    const base = `http://127.0.0.1:${daemon.address.port}`;
    console.log(`rootwatch serves ${base}/metrics`);

    step('Launching containers: a hardened one and four risky ones');
    const run = (...a: string[]): Promise<string> => eng.cli('run', '-d', ...a);
    await run('--name', 'hardened', '--read-only', '--user', '1000', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', '--memory', '64m', '--pids-limit', '100', TEST_IMAGE, 'sleep', '600');
    await run('--name', 'socket-mounter', '-v', `${eng.socketPath}:/var/run/docker.sock`, TEST_IMAGE, 'sleep', '600');
    await run('--name', 'all-caps', '--cap-add', 'ALL', '--cap-drop', 'SYS_RESOURCE', TEST_IMAGE, 'sleep', '600');
    await run('--name', 'etc-writer', '-v', '/etc:/host/etc', TEST_IMAGE, 'sleep', '600');
    await run('--name', 'escaper', '--pid=host', '--cap-add', 'SYS_ADMIN', '--cap-add', 'SYS_PTRACE', '--security-opt', 'seccomp=unconfined', TEST_IMAGE, 'sleep', '600');
    await sleep(500);

    step('rootwatch audit (one-shot, as in a CI pipeline)');
    const audit = await execFileP('npx', ['tsx', 'src/main.ts', '--config', '/dev/null', '--docker-host', eng.dockerHost, 'audit'], { maxBuffer: 8 << 20 }).catch((e: { stdout: string }) => e);
    console.log(audit.stdout);

    step(`A real breakout: "escaper" uses nsenter to enter the Docker daemon's namespaces (pid ${eng.pid()})`);
    console.log('$ docker exec escaper nsenter -t <dockerd pid> -m -u -i -n -p sleep 20');
    await eng.cli('exec', '-d', 'escaper', 'nsenter', '-t', String(eng.pid()), '-m', '-u', '-i', '-n', '-p', 'sleep', '20');
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !alerts.some((a) => a.rule === 'host_namespace_process')) await sleep(100);
    const alert = alerts.find((a) => a.rule === 'host_namespace_process');
    if (alert) {
      console.log(red('ALERT (the JSON line journald would hold):'));
      console.log(JSON.stringify(alert, null, 2));
    } else {
      console.log(red('no breakout alert within 10 s (unexpected)'));
    }

    step('What Prometheus scrapes (rootwatch_* lines about findings and breakouts)');
    const text = await (await fetch(`${base}/metrics`)).text();
    for (const l of text.split('\n')) {
      if (/^rootwatch_(breakout_processes|breakout_detections_total\{reason="host_namespace_process"|findings\{|host_finding|docker_up|containers )/.test(l)) console.log(l);
    }
    console.log('\nThe alert rules in config/prometheus/rootwatch.rules.yml page on the breakout at once (RootwatchBreakoutSuspected).');
    await daemon.stop();
  } finally {
    await cleanup();
  }
}

await main();
