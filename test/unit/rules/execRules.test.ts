import { strict as assert } from 'node:assert';
import type { ContainerInspect, ExecInspect } from '../../../src/model/dockerTypes.js';
import { execRules } from '../../../src/rules/catalogue.js';
import { ctx, execInspect, inspect } from './fixtures.js';

/** All exec rules: sorted "id:severity". */
function runExec(x: ExecInspect, c: ContainerInspect): string[] {
  return execRules.flatMap((r) => r.check(x, c, ctx()).map((h) => `${r.id}:${h.severity ?? r.severity}`)).sort();
}

function withUser(x: ExecInspect, user: string | undefined): ExecInspect {
  return { ...x, ProcessConfig: { ...x.ProcessConfig, user } };
}

describe('exec rules over recorded exec inspects', () => {
  const root = inspect('default');
  const nonRoot = inspect('hardened');

  it('recorded execs belong to the recorded containers', () => {
    assert.equal(execInspect('exec-privileged').ContainerID, root.Id);
    assert.equal(execInspect('exec-root-into-nonroot').ContainerID, nonRoot.Id);
    assert.equal(nonRoot.Config?.User, '1000');
  });

  it('docker exec --privileged: exec_privileged high', () => {
    assert.deepEqual(runExec(execInspect('exec-privileged'), root), ['exec_privileged:high']);
  });

  it('docker exec -u 0 / -u root into a non-root container: exec_root medium', () => {
    assert.deepEqual(runExec(execInspect('exec-root-into-nonroot'), nonRoot), ['exec_root:medium']);
    assert.deepEqual(runExec(execInspect('exec-root-named-into-nonroot'), nonRoot), ['exec_root:medium']);
    for (const u of ['0:0', 'root:root', '0:1000']) assert.deepEqual(runExec(withUser(execInspect('exec-root-into-nonroot'), u), nonRoot), ['exec_root:medium'], u);
  });

  it('exec without -u inherits the container user: nothing', () => {
    assert.deepEqual(runExec(execInspect('exec-inherit-nonroot'), nonRoot), []);
    assert.deepEqual(runExec(withUser(execInspect('exec-inherit-nonroot'), ''), nonRoot), []);
    assert.deepEqual(runExec(withUser(execInspect('exec-inherit-nonroot'), undefined), nonRoot), []);
  });

  it('root exec into a container that already runs as root: nothing', () => {
    assert.deepEqual(runExec(execInspect('exec-root-into-root'), root), []);
  });

  it('non-root exec into a non-root container: nothing', () => {
    assert.deepEqual(runExec(withUser(execInspect('exec-root-into-nonroot'), '1001'), nonRoot), []);
  });

  it('evidence names the users, never the command arguments', () => {
    const hit = execRules[1]?.check(withUser(execInspect('exec-root-into-nonroot'), 'root'), nonRoot, ctx())[0];
    assert.deepEqual(hit?.evidence, { 'ProcessConfig.user': 'root', 'Config.User': '1000', 'ProcessConfig.entrypoint': 'sleep' });
  });

  it('never throws on junk', () => {
    const xs = [{}, { ProcessConfig: null }, { ProcessConfig: 'x' }, { ProcessConfig: { privileged: 'true', user: 0 } }] as unknown as ExecInspect[];
    for (const x of xs) {
      for (const c of [{}, { Config: null }, root] as unknown as ContainerInspect[]) {
        for (const r of execRules) assert.deepEqual(r.check(x, c, ctx()), []);
      }
    }
  });
});
