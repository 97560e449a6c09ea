/**
 * zod as flow uses it: every schema module imports `z` from here, so this runs before any of
 * flow's schemas is built. `jitless`: zod 4 otherwise compiles a parser per object schema
 * with `new Function` the first time it parses, code that no V8 code cache holds; a flow
 * command is one short process that parses each schema a few times, so compiling costs more
 * than it saves (docs/PERFORMANCE.md, eighth pass). The results and messages are the same.
 */
import { z } from 'zod';

z.config({ jitless: true });

export { z };
