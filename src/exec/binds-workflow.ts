/**
 * The bind run of `flow exec`: an internal workflow file (data, in the format users write,
 * of the existing `mount` kind with `bind: true`), run and journaled like any other run,
 * and rolled back when the command ends. So a SIGKILL or a power cut during `flow exec`
 * leaves a journaled run that `flow recover` rolls back (ops/recover.ts: a run of this
 * workflow is never left done).
 *
 * Each bind is `slave`: it receives the host's later mounts below /dev etc. but sends none
 * back (a bind of a shared /dev would be a peer of the host's, and the /dev/pts bind on
 * top of it would appear on the host's /dev/pts too). /etc/resolv.conf is bound read-only
 * (the command must not rewrite the host's resolver), and only onto a regular file of the
 * image (exec.ts decides, before the run).
 */
import { parseYaml, plain } from '../workflow/yaml.js';
import { checkTree } from '../workflow/check.js';
import { sha256Of } from '../workflow/recorded.js';
import type { LoadedWorkflow } from '../workflow/source.js';

import { EXEC_BINDS } from './names.js';

export { EXEC_BINDS };

export const EXEC_BINDS_YAML = `# exec-binds: what \`flow exec\` binds into a run's mounted root while its command runs.
name: ${EXEC_BINDS}
version: 1
description: "The host's /dev, /dev/pts, /proc, /sys and /etc/resolv.conf bound into a mounted root while flow exec runs a command there (rolled back when it ends)"

params:
  root:
    type: path
    description: the mounted root the command runs in
    required: true
  resolv-conf:
    type: boolean
    default: true
    description: do not bind /etc/resolv.conf (the image has no regular file there)

steps:
  - name: bind-dev
    kind: mount
    title: bind /dev on \${params.root}/dev
    with:
      source: /dev
      target: \${params.root}/dev
      bind: true
      options: [slave]
  - name: bind-dev-pts
    kind: mount
    title: bind /dev/pts on \${params.root}/dev/pts
    with:
      source: /dev/pts
      target: \${params.root}/dev/pts
      bind: true
      options: [slave]
  - name: bind-proc
    kind: mount
    title: bind /proc on \${params.root}/proc
    with:
      source: /proc
      target: \${params.root}/proc
      bind: true
      options: [slave]
  - name: bind-sys
    kind: mount
    title: bind /sys on \${params.root}/sys
    with:
      source: /sys
      target: \${params.root}/sys
      bind: true
      options: [slave]
  - name: bind-resolv-conf
    kind: mount
    title: bind /etc/resolv.conf read-only on \${params.root}/etc/resolv.conf
    when: params.resolv-conf
    with:
      source: /etc/resolv.conf
      target: \${params.root}/etc/resolv.conf
      bind: true
      readOnly: true
      options: [slave]

outputs:
  root: \${params.root}
`;

/** Where the workflow binds, relative to the root (exec.ts checks nothing is mounted there yet). */
export const BIND_TARGETS = ['dev', 'dev/pts', 'proc', 'sys', 'etc/resolv.conf'] as const;

/** The internal workflow, loaded as a built-in file is (its definition is what the bind run records). */
export function execBindsWorkflow(): LoadedWorkflow {
  const root = parseYaml(EXEC_BINDS_YAML);
  const r = checkTree(root, `flow exec's ${EXEC_BINDS}`);
  if (!r.workflow) throw new Error(`${EXEC_BINDS}: ${r.problems.map((p) => p.message).join('; ')}`);
  const definition = plain(root);
  return { workflow: r.workflow, definition, sha256: sha256Of(definition), source: { kind: 'builtin' }, text: EXEC_BINDS_YAML };
}
