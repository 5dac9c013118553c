import { strict as assert } from 'node:assert';
import { hooksNaming } from '../../../src/breakout/tripwires.js';

describe('the hook that ran a kernel helper', () => {
  const UPPER = '/var/lib/docker/overlay2/abc/diff';
  const values = new Map<string, string | null>([
    ['/proc/sys/kernel/core_pattern', `|${UPPER}/payload %p\n`],
    ['/sys/fs/cgroup/memory/release_agent', `${UPPER}/agent\n`],
    ['/proc/sys/kernel/modprobe', '/sbin/modprobe\n'],
    ['/sys/kernel/uevent_helper', null],
  ]);

  it('names the file and value whose program is the helper\'s executable or script', () => {
    assert.deepEqual(hooksNaming(values, ['/usr/bin/dash', '/bin/sh', `${UPPER}/payload`, '27']), [{ file: '/proc/sys/kernel/core_pattern', value: `|${UPPER}/payload %p` }]);
    assert.deepEqual(hooksNaming(values, [`${UPPER}/agent`]).map((h) => h.file), ['/sys/fs/cgroup/memory/release_agent']);
  });

  it('none when no hook names it (restored meanwhile), and a core_pattern file pattern names no program', () => {
    assert.deepEqual(hooksNaming(values, [`${UPPER}/other`]), []);
    assert.deepEqual(hooksNaming(new Map([['/proc/sys/kernel/core_pattern', `${UPPER}/core.%p`]]), [`${UPPER}/core.%p`]), []);
  });
});
