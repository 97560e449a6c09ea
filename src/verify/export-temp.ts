/**
 * `flow verify export-temp`: the crash matrices over flow export's internal workflow
 * (src/export/temp-workflow.ts: the temporary image file, then a freeze of the mounted
 * filesystem the export copies), in a built-in simulated world that has what an export
 * needs: a done snapshot-image run with a persistent COW (`--cow-file`) of an ext4 image,
 * its snapshot mounted. The export run creates its temporary file beside EXPORT_TO and
 * freezes that mount, exactly as `flow export PARENT --to EXPORT_TO` would start it.
 *
 * The parent run is another run's objects to the export run: after a power cut the host
 * boots, and (as its user would) `flow resume PARENT` rebuilds its stack over the COW file
 * before the export run is recovered; no recovery of the export run may touch that stack,
 * and its rollback must leave the mount thawed (the fake kernel records `frozen` per mount,
 * part of the compared kernel state).
 */
import path from 'node:path';
import { encodeSuperblock } from '../kernel/fake/ext.js';
import { EXPORT_TEMP, tempNameOf } from '../export/names.js';
import { exportTempWorkflow, freezeParam } from '../export/temp-workflow.js';
import { preflightWorkflow } from '../preflight/workflow.js';
import { optionKey } from '../workflow/params.js';
import { definitionRecord, workflowDefOf } from '../workflow/run-def.js';
import { loadWorkflow } from '../workflow/source.js';
import { makeOtherPrograms } from './host.js';
import type { Subject } from './subject.js';
import type { SimWorld } from './world.js';

const MiB = 1024 * 1024;
/** the image the parent run snapshots: a whole ext4 filesystem (no partition table), 32 MiB, 4 KiB blocks */
export const FIXTURE_IMAGE = '/img/fixture.ext4';
/** the parent run's persistent COW */
export const FIXTURE_COW = '/img/fixture.cow';
/** the done snapshot-image run the export copies (a run id: not the matrices' own) */
export const PARENT_ID = 'px7exp2t';
/** the size of the parent's snapshot, and so of the exported image */
const SNAPSHOT_SIZE = 64 * MiB;
/** where the export writes its image: its temporary file is beside it */
export const EXPORT_TO = '/img/exported.img';

async function makeImage(w: SimWorld): Promise<void> {
  w.fs.putFile(FIXTURE_IMAGE, { size: 32 * MiB }, { durable: true });
  const fh = await w.fs.open(FIXTURE_IMAGE, { mode: 'write' });
  await fh.write(encodeSuperblock({ uuid: '77777777-2222-4333-8444-555555555555', blockSize: 4096, blockCount: (32 * MiB) / 4096 }), 1024);
  await fh.sync();
  await fh.close();
}

/** The parent run's mount point (snapshot-image's default). */
const parentMount = (w: SimWorld) => path.join(w.preflightEnv(PARENT_ID).runDir, PARENT_ID, 'mnt');

/** `flow run snapshot-image --image FIXTURE_IMAGE --cow-file FIXTURE_COW --cow-size 16M --size 64M`, as flow run loads the built-in file. */
async function startParent(w: SimWorld): Promise<void> {
  // a name is looked up in the administrators' directory first: one that never exists, so the built-in file is the one
  const l = await loadWorkflow('snapshot-image', { etcDir: '/nonexistent/flow-verify-export-temp' });
  const pf = await preflightWorkflow(l, { image: FIXTURE_IMAGE, cowFile: FIXTURE_COW, cowSize: '16M', size: String(SNAPSHOT_SIZE) }, w.preflightEnv(PARENT_ID));
  const out = await (await w.runner()).start({ id: PARENT_ID, workflow: workflowDefOf(l, pf), params: pf.params, definition: definitionRecord(l, pf), keepOnFailure: false });
  if (out.phase !== 'done') throw new Error(`the fixture's snapshot-image run ended ${out.phase}`);
  if (!(await w.kernel.mounts.list()).some((m) => m.target === parentMount(w) && m.fstype === 'ext4')) throw new Error(`the fixture's snapshot-image run mounted no ext4 on ${parentMount(w)}`);
}

/** The host after a boot: other programs' objects, and the parent's stack rebuilt by `flow resume PARENT` (its COW is persistent). */
async function afterBoot(w: SimWorld): Promise<void> {
  await makeOtherPrograms(w);
  const out = await (await w.runner()).resume(PARENT_ID);
  if (out.phase !== 'done') throw new Error(`flow resume ${PARENT_ID} (the export's parent run) ended ${out.phase}`);
}

/** The subject of `flow verify export-temp`: the export run of the built-in world's parent run, one freeze step. */
export function exportTempSubject(): Subject {
  const loaded = exportTempWorkflow(1);
  return {
    workflow: EXPORT_TEMP,
    resolve: async (w, id) => {
      const raw = { temp: path.join(path.dirname(EXPORT_TO), tempNameOf(path.basename(EXPORT_TO), id)), size: String(SNAPSHOT_SIZE), [optionKey(freezeParam(1))]: parentMount(w) };
      const pf = await preflightWorkflow(loaded, raw, w.preflightEnv(id));
      return { def: workflowDefOf(loaded, pf), params: pf.params, extra: { definition: definitionRecord(loaded, pf) } };
    },
    setup: async (w) => {
      await makeImage(w);
      await makeOtherPrograms(w);
      await startParent(w);
    },
    afterBoot,
  };
}
