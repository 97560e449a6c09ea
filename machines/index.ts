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

/**
 * Built-ins that exist only as files (machines/NAME.yaml, no frozen TypeScript definition:
 * no format-1 journal of them exists): their descriptions, for the lists in help. Their
 * options come from the file, loaded when the command line names one (src/cli/program.ts).
 */
export const fileBuiltins: Readonly<Record<string, string>> = {
  'pi-image': 'A writable throwaway copy of a whole Raspberry Pi OS image (root and boot partitions snapshotted, mounted as the image\'s /etc/fstab says)',
};

export function findWorkflow(name: string): WorkflowDef<any> | undefined {
  return Object.hasOwn(workflows, name) ? workflows[name] : undefined;
}
