import { strict as assert } from 'node:assert';
import { Backoff } from '../../../src/docker/backoff.js';

describe('reconnect backoff', () => {
  it('doubles up to the cap, each delay at least half its ceiling even when the draw is 0', () => {
    const b = new Backoff(250, 4000, () => 0);
    assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => b.next()), [125, 250, 500, 1000, 2000, 2000]);
  });

  it('never exceeds the ceiling when the draw is 1', () => {
    const b = new Backoff(250, 4000, () => 1);
    assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => b.next()), [250, 500, 1000, 2000, 4000, 4000]);
  });

  it('bounds the attempts in 12 s to 6 whatever the draws (the reconnect-storm bound)', () => {
    const b = new Backoff(250, 30_000, () => 0);
    let t = 0;
    let attempts = 0;
    while ((t += b.next()) <= 12_000) attempts++;
    assert.equal(attempts, 6);
  });

  it('starts from the base again after reset()', () => {
    const b = new Backoff(250, 4000, () => 1);
    b.next();
    b.next();
    b.reset();
    assert.equal(b.next(), 250);
  });
});
