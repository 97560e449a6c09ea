// Test helper: takes the lock `run-y` in the directory argv[2], says so, and waits to be killed.
import { spawnSync } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';

const fd = openSync(join(process.argv[2], 'run-y.lock'), 'a+');
const r = spawnSync('flock', ['--exclusive', '--nonblock', '3'], { stdio: ['ignore', 'ignore', 'inherit', fd] });
if (r.status !== 0) process.exit(1);
process.stdout.write('locked\n');
setInterval(() => undefined, 1000);
