// Mocha root hooks: whatever happens in the suites, private engines are torn down at the end.
import { destroyEngines } from './engines.js';
import { destroyAllEngines } from './privateDockerd.js';
import { destroySharedPodman } from './privatePodman.js';

export const mochaHooks = {
  async afterAll(): Promise<void> {
    await destroyEngines();
    await destroyAllEngines();
    await destroySharedPodman();
  },
};
