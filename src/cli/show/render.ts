/** `flow show`'s device tree on the terminal. */
import type { Paint } from './colour.js';
import type { CowUsage, NodeState, Segment, TreeNode, ZramUsage } from './model.js';

/** 1536 → "1.5 KiB" */
export function human(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) (v /= 1024), u++;
  const n = u === 0 || v >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(1).replace(/\.0$/, '');
  return `${n} ${units[u]}`;
}

const BAR = 20;

export function bar(percent: number): string {
  const full = Math.min(BAR, Math.max(0, Math.round((percent / 100) * BAR)));
  return `[${'█'.repeat(full)}${'░'.repeat(BAR - full)}]`;
}

function state(p: Paint, s: NodeState): string {
  const colour = { present: p.green, missing: (x: string) => p.bold(p.red(x)), drifted: (x: string) => p.bold(p.yellow(x)), absent: p.dim, 'in-doubt': p.yellow, unknown: p.magenta }[s];
  return colour(s);
}

const range = (s: Segment) => `sectors ${s.start}-${s.start + s.length - 1} (${human(s.length * 512)})`;

function segment(s: Segment, n: TreeNode): string {
  switch (s.target) {
    case 'linear':
      return `linear  ${range(s)} -> ${s.device} from sector ${s.offset}`;
    case 'zero':
      return `zero    ${range(s)}: reads zeros`;
    case 'delay':
      return `delay   ${range(s)} -> ${s.device}: reads ${n.delays?.readMs} ms, writes ${n.delays?.writeMs} ms`;
    case 'snapshot':
      return `snapshot of ${s.device}, COW ${n.cow?.name ?? s.cow ?? s.args[1]}, ${s.args[2] === 'N' ? 'non-persistent' : 'persistent'}, chunk ${s.args[3]} sectors`;
    default:
      return `${s.target.padEnd(7)} ${range(s)} ${s.args.join(' ')}`;
  }
}

function usageLines(p: Paint, u: CowUsage | undefined): string[] {
  if (!u) return [];
  if (u.status === 'invalid' || u.status === 'overflow') return [p.bold(p.red(`!! ${u.warning}`))];
  if (u.status !== 'active' || u.percent === undefined) return [`status: ${u.status}`];
  const colour = u.warning ? p.yellow : p.green;
  const used = `${human((u.allocatedSectors ?? 0) * 512)} of ${human((u.totalSectors ?? 0) * 512)}`;
  return [`used ${colour(bar(u.percent))} ${colour(`${u.percent.toFixed(1)} %`)}  ${used}`, ...(u.warning ? [p.bold(p.yellow(`warning: ${u.warning}`))] : [])];
}

function zramLine(z: ZramUsage | undefined): string[] {
  if (!z) return [];
  return [`zram ${human(z.origDataSize)} stored, ${human(z.comprDataSize)} compressed${z.ratio === null ? '' : `, ratio ${z.ratio.toFixed(2)}`}, ${human(z.memUsedTotal)} of memory`];
}

function head(p: Paint, n: TreeNode): string {
  const extra = [n.step, n.readOnly ? 'read-only' : undefined, n.disksize ? human(n.disksize) : undefined].filter(Boolean).join(', ');
  const invalid = n.usage?.status === 'invalid' || n.usage?.status === 'overflow' ? `  ${p.bold(p.red('INVALID'))}` : '';
  return `${p.bold(n.role)} ${n.name}  ${state(p, n.state)}${invalid}${extra ? p.dim(`  (${extra})`) : ''}`;
}

const why = (p: Paint, n: { state: NodeState; detail?: string }) => (n.detail ? [`${n.state === 'present' || n.state === 'absent' ? '' : '! '}${n.detail}`] : []);

function details(p: Paint, n: TreeNode): string[] {
  const lines = [...why(p, n)];
  if (n.segments && n.tableFrom === 'journal') lines.push(p.dim('table as the journal recorded it (no live table):'));
  for (const s of n.segments ?? []) lines.push(segment(s, n));
  if (n.cow) {
    lines.push(`COW  ${head(p, n.cow).replace(/^\S+ /, '')}`);
    lines.push(...[...why(p, n.cow), ...usageLines(p, n.usage), ...zramLine(n.cow.zram)].map((l) => `     ${l}`));
  } else lines.push(...usageLines(p, n.usage));
  if (n.dirs) lines.push(`directories made by the run: ${state(p, n.dirs.state)}${n.dirs.detail ? ` (${n.dirs.detail})` : ''}`);
  return lines;
}

/** The tree, one node per line, details indented under it. */
export function treeText(p: Paint, root: TreeNode): string[] {
  const out: string[] = [];
  const walk = (n: TreeNode, lead: string, self: string) => {
    out.push(`${lead}${self}${head(p, n)}`);
    const below = lead + (self === '' ? '' : self.startsWith('└') ? '   ' : '│  ');
    for (const d of details(p, n)) out.push(`${below}${n.children.length ? '│' : ' '}  ${d}`);
    n.children.forEach((c, i) => walk(c, below, i === n.children.length - 1 ? '└─ ' : '├─ '));
  };
  walk(root, '', '');
  return out;
}
