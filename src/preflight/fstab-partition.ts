/**
 * A partition param found through an fstab (`fstab: {in, at, places}`, src/workflow/params.ts):
 * the partition that /etc/fstab on the filesystem of partition param `in` mounts at the
 * place string param `at` gives, or, `at` left empty, at the first of `places` the fstab
 * has; the partition given on the command line wins over the fstab, and the fstab is not
 * read when both are given. The place must be a directory of that filesystem: the run
 * mounts the partition there and writes nothing into the image to make one. Reads the
 * image (never writes it): its partition table, the filesystems' labels and UUIDs, the
 * fstab and the directory (debugfs, read-only).
 */
import { UsageError } from '../errors.js';
import type { PartitionTable } from '../kernel/types.js';
import type { Value } from '../workflow/evaluate.js';
import { entryAt, parseFstab, partitionFor, partuuidOf, type PartitionNames } from './fstab.js';
import type { PreflightEnv } from './types.js';
import { quote } from './values.js';

export interface FstabFacet {
  in: string;
  at: string;
  places: string[];
}

interface PartitionValue {
  number: number | null;
  start: number;
  filesystem: string | null;
}

const EXT = /^ext[234]$/;

/**
 * The partition's number (as its option would give it) and what the partition value adds:
 * `mounted-at` and `found-by`. `given`: the option's value, '' when left out.
 */
export async function partitionFromFstab(
  env: PreflightEnv,
  name: string,
  f: FstabFacet,
  image: string,
  given: string,
  sofar: Readonly<Record<string, Value>>,
): Promise<{ number: string; mountedAt: string; foundBy: string }> {
  const inPart = sofar[f.in] as unknown as PartitionValue;
  const atGiven = sofar[f.at] as string;
  const where = inPart.number === null ? image : `partition ${inPart.number} of ${image}`;
  const fix = `name the partition and its place yourself: --${name} N --${f.at} ${f.places[0]}`;
  // the fstab and the place's directory are both read from that filesystem
  if (inPart.filesystem === null || !EXT.test(inPart.filesystem)) {
    throw new UsageError(`${where} (--${f.in}) holds ${inPart.filesystem ? `a ${inPart.filesystem} filesystem` : 'no filesystem flow recognises'}: flow reads /etc/fstab and directories from ext2, ext3 or ext4 only`, fix);
  }
  let place = atGiven === '' ? undefined : atGiven;
  let number = given === '' ? undefined : given;
  let foundBy = `--${name}`;
  if (number === undefined || place === undefined) {
    const text = await env.kernel.filesystems.readExtFile(image, inPart.start * 512, '/etc/fstab');
    if (text === null) throw new UsageError(`the filesystem on ${where} (--${f.in}) has no /etc/fstab`, fix);
    const entry = entryAt(parseFstab(text), place === undefined ? f.places : [place]);
    if (!entry) throw new UsageError(`the /etc/fstab on ${where} mounts nothing at ${place ?? f.places.join(' or ')}`, fix);
    place ??= entry.target;
    if (number === undefined) {
      const table = await env.kernel.partitions.read(image);
      const p = table && partitionFor(entry.spec, await partitionNames(env, image, table));
      if (!p) throw new UsageError(`the /etc/fstab on ${where} mounts ${quote(entry.spec)} at ${entry.target}, and no partition of ${image} is that one`, `give the partition with --${name} N`);
      number = String(p.number);
      foundBy = `/etc/fstab: ${entry.spec}`;
    }
  }
  if ((await env.kernel.filesystems.readExtFile(image, inPart.start * 512, place)) === null) {
    throw new UsageError(`the filesystem on ${where} (--${f.in}) has no directory ${place}`, `give --${f.at} a directory it has (e.g. ${f.places.join(' or ')})`);
  }
  return { number, mountedAt: place, foundBy };
}

/** Each partition with the names an fstab may use for it. */
async function partitionNames(env: PreflightEnv, image: string, table: PartitionTable): Promise<PartitionNames[]> {
  const out: PartitionNames[] = [];
  for (const p of table.partitions) {
    const fs = await env.kernel.filesystems.probe(image, p.start * table.sectorSize).catch(() => null);
    const partuuid = partuuidOf(table, p);
    out.push({ number: p.number, ...(partuuid ? { partuuid } : {}), ...(fs?.label ? { label: fs.label } : {}), ...(fs?.uuid ? { uuid: fs.uuid } : {}) });
  }
  return out;
}
