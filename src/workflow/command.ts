/** `flow check`'s action (loaded on demand by src/cli/commands/check.ts). */
import { WorkflowFileError } from '../errors.js';
import { loadText, readWorkflowFile } from './load.js';

export async function checkCommand(file: string, json: boolean): Promise<number> {
  try {
    const wf = loadText(await readWorkflowFile(file), file);
    const summary = `${file}: ok — workflow ${wf.name}, ${wf.params.length} param${wf.params.length === 1 ? '' : 's'}, ${wf.steps.length} step${wf.steps.length === 1 ? '' : 's'}, ${wf.outputs.length} output${wf.outputs.length === 1 ? '' : 's'}`;
    process.stdout.write(json ? JSON.stringify({ file, ok: true, workflow: wf.name, problems: [] }) + '\n' : summary + '\n');
    return 0;
  } catch (err) {
    if (json && err instanceof WorkflowFileError) {
      process.stdout.write(JSON.stringify({ file, ok: false, problems: err.problems }) + '\n');
      return 2;
    }
    throw err;
  }
}
