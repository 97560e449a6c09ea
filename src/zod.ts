/**
 * zod as flow uses it: every schema module imports `z` from here, so this runs before any of
 * flow's schemas is built. `jitless`: zod 4 otherwise compiles a parser per object schema
 * with `new Function` the first time it parses, code that no V8 code cache holds, for a
 * command that is one short process. Measured (docs/PERFORMANCE.md, eighth pass): no change
 * in a command's CPU on the host beyond the noise, 0-6 % in the lab; kept because flow then
 * generates no code at run time. The results and messages are the same.
 */
import { z } from 'zod';

z.config({ jitless: true });

export { z };
