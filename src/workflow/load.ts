/**
 * Reads and checks a workflow file: bounded read (never more than the size limit, only a
 * regular file), the safe YAML parse, the schema and the static checks. Throws
 * WorkflowFileError (exit 2) listing every problem at file:line:column.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { UsageError, WorkflowFileError } from '../errors.js';
import { checkTree } from './check.js';
import type { Workflow } from './definition.js';
import { LIMITS, parseYaml, YamlRefused, type Diagnostic } from './yaml.js';

/** Checks YAML text; `file` names it in messages. */
export function checkText(text: string, file: string): { workflow?: Workflow; problems: Diagnostic[] } {
  let root;
  try {
    root = parseYaml(text);
  } catch (err) {
    if (err instanceof YamlRefused) return { problems: err.diagnostics };
    throw err;
  }
  return checkTree(root, file);
}

export function loadText(text: string, file: string): Workflow {
  const r = checkText(text, file);
  if (!r.workflow) throw new WorkflowFileError(file, r.problems.map((d) => ({ line: d.pos.line, col: d.pos.col, message: d.message, fix: d.fix })));
  return r.workflow;
}

/** Reads at most LIMITS.maxBytes + 1 bytes of a regular file (a FIFO or device is refused, not read). */
export async function readWorkflowFile(file: string): Promise<string> {
  let fh;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`${file} does not exist`, 'give the path of a workflow file (.yaml)');
    if (code === 'EACCES') throw new UsageError(`${file}: permission denied`, 'check its permissions');
    if (code === 'EISDIR') throw new UsageError(`${file} is a directory`, 'give the path of a workflow file (.yaml)');
    throw new UsageError(`${file} cannot be opened: ${(err as Error).message}`, 'give the path of a workflow file (.yaml)');
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw new UsageError(`${file} is a directory`, 'give the path of a workflow file (.yaml)');
    if (!st.isFile()) throw new UsageError(`${file} is not a regular file`, 'give the path of a workflow file (.yaml)');
    if (st.size > LIMITS.maxBytes) throw new WorkflowFileError(file, [{ line: 1, col: 1, message: `the file is ${st.size} bytes (at most ${LIMITS.maxBytes})`, fix: 'a workflow file is small: split it, or check that this is the right file' }]);
    const buf = Buffer.alloc(LIMITS.maxBytes + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0 || n + bytesRead >= buf.length) {
        n += bytesRead;
        break;
      }
      n += bytesRead;
    }
    if (n > LIMITS.maxBytes) throw new WorkflowFileError(file, [{ line: 1, col: 1, message: `the file is larger than ${LIMITS.maxBytes} bytes`, fix: 'a workflow file is small: split it' }]);
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(buf.subarray(0, n));
    return text;
  } catch (err) {
    if (err instanceof TypeError) throw new WorkflowFileError(file, [{ line: 1, col: 1, message: 'the file is not UTF-8 text', fix: 'save it as UTF-8' }]);
    throw err;
  } finally {
    await fh.close();
  }
}

export async function loadWorkflowFile(file: string): Promise<Workflow> {
  return loadText(await readWorkflowFile(file), file);
}
