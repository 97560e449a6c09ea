/**
 * `flow check`'s action, loaded on demand by src/cli/commands/check.ts. The bundle builds it
 * as a file of its own (scripts/bundle.mjs) with its own copy of src/errors.ts, so no error
 * crosses into program.js (whose `instanceof` would not know it): errors end here, through
 * the same exit mapping (src/cli/exit.ts).
 */
import { WorkflowFileError } from '../../errors.js';
import { loadText, readWorkflowFile } from '../../workflow/load.js';
import { exitCodeOf, messageOf } from '../exit.js';

export async function checkCommand(file: string, json: boolean): Promise<number> {
  try {
    const wf = loadText(await readWorkflowFile(file), file);
    const n = (k: number, what: string) => `${k} ${what}${k === 1 ? '' : 's'}`;
    const summary = `${file}: ok — workflow ${wf.name}, ${n(wf.params.length, 'param')}, ${n(wf.steps.length, 'step')}, ${n(wf.outputs.length, 'output')}`;
    process.stdout.write(json ? JSON.stringify({ file, ok: true, workflow: wf.name, problems: [] }) + '\n' : summary + '\n');
    return 0;
  } catch (err) {
    if (json && err instanceof WorkflowFileError) {
      process.stdout.write(JSON.stringify({ file, ok: false, problems: err.problems }) + '\n');
      return exitCodeOf(err);
    }
    process.stderr.write(messageOf(err) + '\n');
    return exitCodeOf(err);
  }
}
