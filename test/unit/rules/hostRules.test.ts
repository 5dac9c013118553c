import { strict as assert } from 'node:assert';
import type { DaemonPosture } from '../../../src/model/posture.js';
import { hostRules } from '../../../src/rules/catalogue.js';
import { posture } from './fixtures.js';

function runHost(p: DaemonPosture): string[] {
  return hostRules.flatMap((r) => r.check(p).map((h) => `${r.id}:${h.severity ?? r.severity}`)).sort();
}

// The exact warning texts of moby's fillAPIInfo: the old "WARNING:" form and the newer deprecation notice.
const HTTP_OLD =
  "WARNING: API is accessible on http://0.0.0.0:2375 without encryption.\n         Access to the remote API is equivalent to root access on the host. Refer\n         to the 'Docker daemon attack surface' section in the documentation for\n         more information: https://docs.docker.com/go/attack-surface/";
const HTTPS_NEW =
  '[DEPRECATION NOTICE]: API is accessible on https://10.0.0.5:2376 without TLS client verification.\n         Access to the remote API is equivalent to root access on the host.';

describe('host rules over recorded /info', () => {
  it('recorded plain engine: no userns-remap (medium), builtin seccomp, no TCP API', () => {
    const p = posture();
    assert.equal(p.seccompProfile, 'default');
    assert.deepEqual(runHost(p), ['userns_remap_disabled:medium']);
  });

  it('recorded remapped engine: nothing', () => {
    assert.equal(posture(true).usernsRemap, true);
    assert.deepEqual(runHost(posture(true)), []);
  });

  it('rootless counts as remapped; missing SecurityOptions is unknown, not "off"', () => {
    assert.deepEqual(runHost(posture(false, { rootless: true })), []);
    assert.deepEqual(runHost(posture(false, { securityOptionsKnown: false, seccompProfile: null })), []);
  });

  it('daemon seccomp: unconfined and unsupported are high; builtin and custom pass', () => {
    assert.deepEqual(runHost(posture(true, { seccompProfile: 'unconfined' })), ['daemon_seccomp_unconfined:high']);
    assert.deepEqual(runHost(posture(true, { seccompProfile: null })), ['daemon_seccomp_unconfined:high']);
    assert.deepEqual(runHost(posture(true, { seccompProfile: 'builtin' })), []);
    assert.deepEqual(runHost(posture(true, { seccompProfile: '/etc/docker/seccomp.json' })), []);
  });

  it('insecure API: plain http is critical, https without client verification high', () => {
    assert.deepEqual(runHost(posture(true, { warnings: [HTTP_OLD] })), ['insecure_api:critical']);
    assert.deepEqual(runHost(posture(true, { warnings: [HTTPS_NEW] })), ['insecure_api:high']);
    assert.deepEqual(runHost(posture(true, { warnings: [HTTP_OLD, HTTPS_NEW, 'WARNING: No swap limit support'] })), ['insecure_api:critical', 'insecure_api:high']);
    const hit = hostRules.find((r) => r.id === 'insecure_api')?.check(posture(true, { warnings: [HTTPS_NEW] }))[0];
    assert.equal(hit?.message, 'Docker API is reachable on https://10.0.0.5:2376 without TLS client verification');
  });

  it('never throws on junk posture', () => {
    for (const p of [{}, { warnings: 'x' }, { warnings: [1, null] }, { securityOptionsKnown: true }] as unknown as DaemonPosture[]) {
      for (const r of hostRules) assert.doesNotThrow(() => r.check(p), r.id);
    }
  });
});
