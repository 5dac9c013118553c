import { strict as assert } from 'node:assert';
import { EndpointError, engineName, parseEndpoint, parseEndpoints, resolveDockerHosts } from '../../../src/docker/endpoint.js';

describe('Docker endpoint', () => {
  it('prefers the flags, then config, then DOCKER_HOST, then the default socket', () => {
    assert.deepEqual(resolveDockerHosts(['unix:///a'], 'unix:///b', { DOCKER_HOST: 'unix:///c' }), ['unix:///a']);
    assert.deepEqual(resolveDockerHosts([], 'unix:///b', { DOCKER_HOST: 'unix:///c' }), ['unix:///b']);
    assert.deepEqual(resolveDockerHosts([], undefined, { DOCKER_HOST: 'unix:///c' }), ['unix:///c']);
    assert.deepEqual(resolveDockerHosts([], undefined, {}), ['unix:///var/run/docker.sock']);
  });

  it('follows several engines: repeated flags or a config list, never the same one twice', () => {
    assert.deepEqual(resolveDockerHosts(['unix:///a', 'unix:///b'], 'unix:///c', {}), ['unix:///a', 'unix:///b']);
    assert.deepEqual(resolveDockerHosts([], ['unix:///var/run/docker.sock', 'unix:///run/podman/podman.sock'], {}), ['unix:///var/run/docker.sock', 'unix:///run/podman/podman.sock']);
    assert.throws(() => resolveDockerHosts([], ['unix:///a', '/a'], {}), /docker host "\/a" is listed twice/);
  });

  it('names each engine from its socket, uniquely', () => {
    assert.equal(engineName('unix:///var/run/docker.sock'), 'docker');
    assert.equal(engineName('/run/podman/podman.sock'), 'podman');
    assert.equal(engineName('unix:///run/user/1000/podman/podman.sock'), 'podman-1000');
    assert.equal(engineName('unix:///run/user/1001/docker.sock'), 'docker-1001');
    assert.equal(engineName('tcp://10.0.0.5:2375'), '10.0.0.5:2375');
    const names = parseEndpoints(['unix:///var/run/docker.sock', 'unix:///srv/other/docker.sock', 'unix:///run/user/1000/podman/podman.sock'], {}).map((e) => e.name);
    assert.deepEqual(names, ['docker', 'docker-2', 'podman-1000']);
  });

  it('parses unix and tcp URLs', () => {
    assert.deepEqual(parseEndpoint('unix:///run/docker.sock', {}).options, { socketPath: '/run/docker.sock' });
    assert.deepEqual(parseEndpoint('tcp://10.0.0.1:2375', {}).options, { host: '10.0.0.1', port: 2375, protocol: 'http' });
    assert.deepEqual(parseEndpoint('tcp://[::1]', {}).options, { host: '::1', port: 2375, protocol: 'http' });
  });

  it('needs the TLS files when DOCKER_TLS_VERIFY is set, and says which directory', () => {
    assert.throws(
      () => parseEndpoint('tcp://h:2376', { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/nonexistent' }),
      (e: Error) => e instanceof EndpointError && /cannot read TLS files in \/nonexistent/.test(e.message),
    );
  });

  it('rejects unknown schemes and relative sockets in one line', () => {
    assert.throws(() => parseEndpoint('ssh://me@host', {}), /unsupported scheme "ssh"/);
    assert.throws(() => parseEndpoint('unix://docker.sock', {}), /must be absolute/);
    assert.throws(() => parseEndpoint('docker.sock', {}), /expected unix:/);
  });
});
