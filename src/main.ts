#!/usr/bin/env node
// The `rootwatch` executable. V8's flags come first (runtime/leanV8.ts); only then is the command line
// (cli/main.ts) loaded, since loading its modules is itself enough work to page in the optimizing
// compiler that the flags turn off.
import './runtime/leanV8.js';

await import('./cli/main.js');
