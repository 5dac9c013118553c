import { strict as assert } from 'node:assert';
import { EndpointError, parseEndpoint, resolveDockerHost } from '../../../src/docker/endpoint.js';

describe('Docker endpoint', () => {
  it('prefers the flag, then config, then DOCKER_HOST, then the default socket', () => {
    assert.equal(resolveDockerHost('unix:///a', 'unix:///b', { DOCKER_HOST: 'unix:///c' }), 'unix:///a');
    assert.equal(resolveDockerHost(undefined, 'unix:///b', { DOCKER_HOST: 'unix:///c' }), 'unix:///b');
    assert.equal(resolveDockerHost(undefined, undefined, { DOCKER_HOST: 'unix:///c' }), 'unix:///c');
    assert.equal(resolveDockerHost(undefined, undefined, {}), 'unix:///var/run/docker.sock');
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
