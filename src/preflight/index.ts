/** The preflight of each workflow, by name. */
import type { Json } from '../../machines/types.js';
import { preflightPiImage } from './pi-image.js';
import { preflightSnapshotImage } from './snapshot-image.js';
import type { PreflightEnv, RawOptions } from './types.js';

export const preflights: Readonly<Record<string, (raw: RawOptions, env: PreflightEnv) => Promise<Json>>> = {
  'snapshot-image': preflightSnapshotImage,
  'pi-image': preflightPiImage,
};
export type { PreflightEnv, RawOptions };
