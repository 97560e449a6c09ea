/** `flow show`'s device tree: what each node is, what the journal says, what the kernel shows. */

/**
 * A node's live state: `present` (as the journal says), `missing` (the journal says it
 * exists, the kernel has none), `drifted` (present, but not as the journal says),
 * `absent` (never made or removed, as the journal says), `in-doubt` (a step with an
 * intent and no outcome: resume or rollback settles it), `unknown` (could not be probed).
 */
export type NodeState = 'present' | 'missing' | 'drifted' | 'absent' | 'in-doubt' | 'unknown';

/** What the journal says about the thing. */
export type Expected = 'present' | 'absent' | 'in-doubt';

/** The built-ins' roles; a workflow file's dm devices are named by their target (linear, flakey, ...), `dm` when mixed, and a zram device not used as a COW is `zram`. */
export type Role = 'image' | 'file' | 'loop' | 'base' | 'snapshot' | 'cow' | 'delay' | 'mountpoint' | 'zram' | (string & {});

export interface Live {
  expected: Expected;
  state: NodeState;
  detail?: string;
}

/** One dm table segment, sectors; `device` is the path behind a major:minor when known. */
export interface Segment {
  start: number;
  length: number;
  target: string;
  args: string[];
  device?: string;
  offset?: number;
  /** a snapshot's COW device: the path behind its major:minor when known */
  cow?: string;
}

/** COW usage of a snapshot from `dmsetup status` (sectors). */
export interface CowUsage {
  status: 'active' | 'invalid' | 'overflow' | 'merge-failed' | 'unknown';
  allocatedSectors?: number;
  totalSectors?: number;
  metadataSectors?: number;
  percent?: number;
  /** from 80 % on, and for an invalid or overflowed snapshot */
  warning?: string;
}

/** /sys/block/zramN/mm_stat, bytes; ratio = stored / compressed (null while empty). */
export interface ZramUsage {
  origDataSize: number;
  comprDataSize: number;
  memUsedTotal: number;
  ratio: number | null;
}

export interface TreeNode extends Live {
  role: Role;
  /** what it is: a path, a device */
  name: string;
  /** the step that makes it (none for an input file) */
  step?: string;
  /** a dm device's table: the live one when it exists, else the journal's */
  segments?: Segment[];
  /** where `segments` come from: the kernel's live table, or the journal's (no live table) */
  tableFrom?: 'kernel' | 'journal';
  /** snapshot: its COW device and usage */
  cow?: TreeNode;
  usage?: CowUsage;
  /** COW: the zram device's memory use */
  zram?: ZramUsage;
  disksize?: number;
  /** delay device: milliseconds */
  delays?: { readMs: number; writeMs: number };
  /** loop: attached read-only */
  readOnly?: boolean;
  /** mountpoint: the directories the run created for it */
  dirs?: Live & { step: string; paths: string[] };
  children: TreeNode[];
}

export const WARN_PERCENT = 80;
