import { strict as assert } from 'node:assert';
import {
  SENSITIVE_DIRS,
  isSameOrUnder,
  matchSensitive,
  matchSocket,
  normalizePath,
  sensitiveDirsFor,
} from '../../../src/rules/hostPaths.js';

describe('host paths', () => {
  it('normalises trailing slashes, dot segments and doubled slashes', () => {
    assert.equal(normalizePath('/etc/'), '/etc');
    assert.equal(normalizePath('//etc//ssh/'), '/etc/ssh');
    assert.equal(normalizePath('/var/run/./docker.sock'), '/var/run/docker.sock');
    assert.equal(normalizePath('/tmp/../etc'), '/etc');
    assert.equal(normalizePath('/../..'), '/');
    assert.equal(normalizePath('/'), '/');
    assert.equal(normalizePath('etc'), null);
    assert.equal(normalizePath(''), null);
    assert.equal(normalizePath(3), null);
    assert.equal(normalizePath('C:\\Windows'), null);
  });

  it('"under" is by path segment, not by string prefix', () => {
    assert.ok(isSameOrUnder('/etc/ssh', '/etc'));
    assert.ok(isSameOrUnder('/etc', '/etc'));
    assert.ok(!isSameOrUnder('/etcetera', '/etc'));
    assert.ok(isSameOrUnder('/anything', '/'));
  });

  it('recognises engine sockets, including rootless and by file name', () => {
    assert.deepEqual(matchSocket('/var/run/docker.sock'), { socket: '/var/run/docker.sock', relation: 'socket' });
    assert.equal(matchSocket('/run/docker.sock')?.relation, 'socket');
    assert.equal(matchSocket('/run/user/1000/docker.sock')?.relation, 'socket');
    assert.equal(matchSocket('/run/containerd/containerd.sock')?.relation, 'socket');
    assert.equal(matchSocket('/var/run/crio/crio.sock')?.relation, 'socket');
    assert.equal(matchSocket('/run/podman/podman.sock')?.relation, 'socket');
    assert.equal(matchSocket('/home/me/.docker/run/docker.sock')?.relation, 'socket');
    assert.equal(matchSocket('/var/run/docker.pid'), null);
    assert.equal(matchSocket('/srv/data'), null);
  });

  it('directories that contain a socket count, down to "/"', () => {
    for (const dir of ['/', '/var', '/var/run', '/run', '/run/containerd', '/run/user', '/run/user/1000']) {
      assert.equal(matchSocket(dir)?.relation, 'ancestor', dir);
    }
    assert.equal(matchSocket('/run/user/alice'), null);
    assert.equal(matchSocket('/var/lib'), null);
  });

  it('grades sensitive binds: RW worse than RO, / read-only is high', () => {
    const dirs = SENSITIVE_DIRS;
    assert.deepEqual(matchSensitive('/', false, dirs), { dir: '/', relation: 'exact', severity: 'high' });
    assert.equal(matchSensitive('/', true, dirs)?.severity, 'critical');
    assert.equal(matchSensitive('/etc', true, dirs)?.severity, 'critical');
    assert.equal(matchSensitive('/etc', false, dirs)?.severity, 'medium');
    assert.equal(matchSensitive('/proc', true, dirs)?.severity, 'critical');
    assert.equal(matchSensitive('/var/lib/docker', true, dirs)?.severity, 'critical');
    assert.equal(matchSensitive('/root', true, dirs)?.severity, 'high');
  });

  it('paths inside a sensitive dir count (the /etc/ssh case), harmless read-only files do not', () => {
    assert.deepEqual(matchSensitive('/etc/ssh', true, SENSITIVE_DIRS), { dir: '/etc', relation: 'below', severity: 'critical' });
    assert.equal(matchSensitive('/etc/ssh', false, SENSITIVE_DIRS)?.severity, 'medium');
    assert.equal(matchSensitive('/etc/nginx', false, SENSITIVE_DIRS)?.severity, 'low');
    assert.equal(matchSensitive('/lib/modules', true, SENSITIVE_DIRS)?.severity, 'critical');
    assert.equal(matchSensitive('/etc/localtime', false, SENSITIVE_DIRS), null);
    assert.equal(matchSensitive('/usr/share/zoneinfo/UTC', false, SENSITIVE_DIRS), null);
    // Harmless only when read-only.
    assert.equal(matchSensitive('/etc/localtime', true, SENSITIVE_DIRS)?.severity, 'critical');
    assert.equal(matchSensitive('/srv/app', true, SENSITIVE_DIRS), null);
    assert.equal(matchSensitive('/etcetera', true, SENSITIVE_DIRS), null);
  });

  it('a parent of a sensitive dir counts as that dir', () => {
    assert.deepEqual(matchSensitive('/var', true, SENSITIVE_DIRS), { dir: '/var/lib/docker', relation: 'contains', severity: 'critical' });
    assert.equal(matchSensitive('/var/lib', false, SENSITIVE_DIRS)?.severity, 'medium');
  });

  it("adds the daemon's DockerRootDir; with userns-remap its parent is covered too", () => {
    const dirs = sensitiveDirsFor('/data/docker/100000.100000/');
    assert.ok(dirs.some((d) => d.path === '/data/docker/100000.100000'));
    assert.equal(matchSensitive('/data/docker/100000.100000', true, dirs)?.severity, 'critical');
    assert.deepEqual(matchSensitive('/data/docker', true, dirs), {
      dir: '/data/docker/100000.100000',
      relation: 'contains',
      severity: 'critical',
    });
    assert.equal(matchSensitive('/data/docker', true, SENSITIVE_DIRS), null);
    assert.equal(sensitiveDirsFor(null).length, SENSITIVE_DIRS.length);
    assert.equal(sensitiveDirsFor('relative/path').length, SENSITIVE_DIRS.length);
  });
});
