/**
 * The fake kernel: in memory (FakeKernel) or shared between processes through a state
 * file (openPersistedFakeKernel), plus the test-image builder.
 */
export { FakeKernel, type FakeKernelOptions, type StateStore } from './kernel.js';
export { openPersistedFakeKernel, FAKE_KERNEL_ENV } from './persisted.js';
export { buildTestImage, type TestImageSpec, type TestPartition } from './test-image.js';
export type { KernelFault } from './faults.js';
export type { PointHook } from './context.js';
export type { KernelSnapshot } from './snapshot.js';
export type { KernelState } from './state.js';
