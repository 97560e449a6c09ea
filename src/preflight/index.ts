/**
 * Each built-in's own TypeScript preflight, by name: TS-shaped params for the frozen
 * format-1 definitions (machines/*.ts). A run of loop-mount or delayed-device no longer
 * uses theirs (src/preflight/workflow.ts TS_PREFLIGHTED): their files' param types and
 * checks refuse the same; these two remain for src/verify/world.ts's format-1 runs.
 */
import type { Json } from '../../machines/types.js';
import { preflightDelayedDevice } from './delayed-device.js';
import { preflightLoopMount } from './loop-mount.js';
import { preflightPiImage } from './pi-image.js';
import { preflightSnapshotImage } from './snapshot-image.js';
import type { PreflightEnv, RawOptions } from './types.js';

export const preflights: Readonly<Record<string, (raw: RawOptions, env: PreflightEnv) => Promise<Json>>> = {
  'snapshot-image': preflightSnapshotImage,
  'pi-image': preflightPiImage,
  'delayed-device': preflightDelayedDevice,
  'loop-mount': preflightLoopMount,
};
export type { PreflightEnv, RawOptions };
