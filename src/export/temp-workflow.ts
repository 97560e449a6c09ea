/**
 * The temporary image of `flow export`: an internal workflow (data, in the format users
 * write, of the existing `file.create` kind), run and journaled like any other run, so the
 * temporary file is the run's own: a SIGKILL or power cut at any instant of an export
 * leaves a run whose rollback removes that file and only it (file.create's inverse, by
 * identity). The export copies into the file, fsyncs it, gives it its final name, and then
 * rolls the run back: the temporary name is gone by then, so the rollback finds nothing to
 * remove and the exported image stays. `flow recover` and the next `flow export` roll back
 * an export run left behind (ops/recover.ts, export.ts).
 *
 * After the file, one `fs.freeze` step per mounted snapshot the export copies (its ext4
 * checkpointed, writes held off), so the copy is of a consistent filesystem, not of one
 * the kernel is writing meanwhile; the same rollback thaws them, and after a SIGKILL so
 * does `flow recover` (a frozen filesystem is never left behind).
 */
import { parseYaml, plain } from '../workflow/yaml.js';
import { checkTree } from '../workflow/check.js';
import { sha256Of } from '../workflow/recorded.js';
import type { LoadedWorkflow } from '../workflow/source.js';
import { EXPORT_TEMP } from './names.js';

export { EXPORT_TEMP };

const HEAD = `# export-temp: the temporary image file of \`flow export\` (rolled back when the export ends).
name: ${EXPORT_TEMP}
version: 1
description: "The temporary file flow export writes a new image into, beside the image's final name (rolled back when the export ends: by then it has its final name)"

params:
  temp:
    type: path
    description: the temporary file, beside the exported image
    required: true
  size:
    type: size
    description: the exported image's size
    required: true
    multiple-of: 512
`;

const STEPS = `
steps:
  - name: create-temp
    kind: file.create
    title: create the temporary image \${params.temp}
    with:
      path: \${params.temp}
      size: \${params.size}
`;

const OUTPUTS = `
outputs:
  temp: \${steps.create-temp.path}
`;

/** The param naming the `i`th (from 1) filesystem to freeze. */
export const freezeParam = (i: number): string => `freeze-${i}`;

/** The workflow's text with `freezes` freeze steps (one per mounted snapshot the export copies). */
export function exportTempYaml(freezes: number): string {
  const params = Array.from({ length: freezes }, (_, j) => `  ${freezeParam(j + 1)}:\n    type: path\n    description: a mounted filesystem the export copies (frozen during the copy)\n    required: true\n`).join('');
  const steps = Array.from(
    { length: freezes },
    (_, j) => `  - name: freeze-${j + 1}\n    kind: fs.freeze\n    title: freeze the filesystem on \${params.${freezeParam(j + 1)}} for the copy\n    with:\n      target: \${params.${freezeParam(j + 1)}}\n`,
  ).join('');
  return `${HEAD}${params}${STEPS}${steps}${OUTPUTS}`;
}

/** The text without freeze steps (an export with no mounted filesystem to freeze). */
export const EXPORT_TEMP_YAML = exportTempYaml(0);

/** The internal workflow with `freezes` freeze steps, loaded as a built-in file is (its definition is what the export run records). */
export function exportTempWorkflow(freezes = 0): LoadedWorkflow {
  const text = exportTempYaml(freezes);
  const root = parseYaml(text);
  const r = checkTree(root, `flow export's ${EXPORT_TEMP}`);
  if (!r.workflow) throw new Error(`${EXPORT_TEMP}: ${r.problems.map((p) => p.message).join('; ')}`);
  const definition = plain(root);
  return { workflow: r.workflow, definition, sha256: sha256Of(definition), source: { kind: 'builtin' }, text };
}
