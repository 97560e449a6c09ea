/** The workflows flow knows, by name. */
import { delayedDevice } from './delayed-device.js';
import { loopMount } from './loop-mount.js';
import { snapshotImage } from './snapshot-image.js';
import type { WorkflowDef } from './types.js';

export const workflows: Readonly<Record<string, WorkflowDef<any>>> = {
  [snapshotImage.name]: snapshotImage,
  [delayedDevice.name]: delayedDevice,
  [loopMount.name]: loopMount,
};

export function findWorkflow(name: string): WorkflowDef<any> | undefined {
  return Object.hasOwn(workflows, name) ? workflows[name] : undefined;
}
