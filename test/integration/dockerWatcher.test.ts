// The Docker source against a real private engine: start events, inspect data, exec events,
// reconciliation after an engine restart, and reconnect without exiting.
import { strict as assert } from 'node:assert';
import { DockerApi } from '../../src/docker/dockerApi.js';
import { parseEndpoint } from '../../src/docker/endpoint.js';
import { DockerWatcher, type DockerWatchSink } from '../../src/docker/dockerWatcher.js';
import type { ContainerInspect, ExecInspect } from '../../src/model/dockerTypes.js';
import type { DaemonPosture } from '../../src/model/posture.js';
import { engine, requireDocker } from '../harness/engines.js';
import { TEST_IMAGE, type PrivateEngine } from '../harness/privateDockerd.js';
import { waitFor } from '../harness/waitFor.js';

class RecordingSink implements DockerWatchSink {
  postures: DaemonPosture[] = [];
  disconnects: string[] = [];
  running = new Map<string, ContainerInspect>();
  updated: ContainerInspect[] = [];
  gone: string[] = [];
  execs: ExecInspect[] = [];
  actions: string[] = [];
  reconciles = 0;
  connected(p: DaemonPosture): void { this.postures.push(p); }
  disconnected(r: string): void { this.disconnects.push(r); }
  reconciled(running: ContainerInspect[]): void {
    this.reconciles++;
    this.running = new Map(running.map((c) => [c.Id, c]));
  }
  containerUpdated(c: ContainerInspect): void { this.updated.push(c); this.running.set(c.Id, c); }
  containerGone(id: string): void { this.gone.push(id); this.running.delete(id); }
  exec(x: ExecInspect): void { this.execs.push(x); }
  event(a: string): void { this.actions.push(a); }
  malformedEvent(): void {}
  dockerError(): void {}
}

describe('Docker watcher against a private engine', function () {
  let eng: PrivateEngine;
  let sink: RecordingSink;
  let watcher: DockerWatcher;

  before(async function () {
    requireDocker(this);
    eng = await engine('default');
    sink = new RecordingSink();
    watcher = new DockerWatcher(new DockerApi(parseEndpoint(eng.dockerHost, {}), 10_000), sink, {
      relistIntervalMs: 60_000, maxBackoffMs: 1_000, inspectConcurrency: 4,
    });
    watcher.start();
    await waitFor(() => sink.reconciles > 0, 'first reconciliation');
  });

  after(async () => {
    await watcher?.stop();
  });

  it('reads the daemon posture from /info and /version', () => {
    const p = sink.postures[0];
    assert.ok(p, 'connected() was called');
    assert.match(p.version ?? '', /^\d+\.\d+/);
    assert.match(p.runc ?? '', /^\d+\.\d+/);
    assert.equal(p.usernsRemap, false);
  });

  it('observes a container start event and inspects it', async () => {
    const id = await eng.cli('run', '-d', '--name', 'watch-start', '--pid=host', TEST_IMAGE, 'sleep', '300');
    await waitFor(() => sink.updated.some((c) => c.Id === id), 'start event → inspect');
    const c = sink.updated.find((x) => x.Id === id) as ContainerInspect;
    assert.equal(c.Name, '/watch-start');
    assert.equal(c.HostConfig?.PidMode, 'host');
    assert.ok((c.State?.Pid ?? 0) > 0);
    assert.ok(sink.actions.includes('start'));
  });

  it('reports a privileged exec through exec_start and GET /exec/{id}/json', async () => {
    // On this VM runc cannot grant a privileged exec every capability (the VM's bounding set lacks
    // CAP_SYS_RESOURCE), so the exec itself may fail; Docker has still created and started it.
    await eng.cli('exec', '--privileged', '-u', '0', 'watch-start', 'true').catch(() => undefined);
    await waitFor(() => sink.execs.some((x) => x.ProcessConfig?.privileged === true), 'exec inspect');
    assert.ok(sink.actions.includes('exec_start'));
  });

  it('drops a container that dies', async () => {
    const id = await eng.cli('run', '-d', TEST_IMAGE, 'sleep', '300');
    await waitFor(() => sink.running.has(id), 'container seen');
    await eng.cli('rm', '-f', id);
    await waitFor(() => !sink.running.has(id), 'container gone');
  });

  it('survives an engine restart and reconciles containers started while it was down', async () => {
    const reconciles = sink.reconciles;
    await eng.stop();
    await waitFor(() => sink.disconnects.length > 0, 'disconnect noticed');
    await eng.restart();
    // Started right after the restart, possibly before the watcher re-subscribed: reconciliation covers it.
    const id = await eng.cli('run', '-d', '--name', 'during-outage', TEST_IMAGE, 'sleep', '300');
    await waitFor(() => sink.reconciles > reconciles && sink.running.has(id), 'reconciled after restart', 30_000);
    // Containers without a restart policy died with the engine and must be gone.
    const names = [...sink.running.values()].map((c) => c.Name);
    assert.deepEqual(names, ['/during-outage']);
  });
});
