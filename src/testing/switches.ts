/**
 * The environment the test entry reads and the shipped binary ignores (README, "Test-only
 * environment switches"). Only tests and the test entry import this file.
 */

/** Each switch that makes the test entry behave otherwise than the shipped binary. */
export const TEST_SWITCHES = [
  'FLOW_FAKE_KERNEL',
  'FLOW_CRASH_AT',
  'FLOW_CRASH_CHILD',
  'FLOW_CRASH_GROUP',
  'FLOW_PAUSE_AT',
  'FLOW_HALT_AT',
  'FLOW_HALT_MARKER',
  'FLOW_DISABLE_SYNC',
  'FLOW_WORKFLOWS_DIR',
  'FLOW_BINFMT_DIR',
] as const;

/** Every variable the test entry reads: the switches, FLOW_PAUSE_AT's release file, and the lab's share (FLOW_HALT_AT's default marker directory). */
export const TEST_ONLY_VARIABLES = [...TEST_SWITCHES, 'FLOW_PAUSE_RELEASE', 'FLOW_LAB_SHARE'] as const;

/** Whether `env` sets a test switch (to a non-empty value, as the test entry reads them). */
export function setsTestSwitch(env: NodeJS.ProcessEnv): boolean {
  return TEST_SWITCHES.some((k) => !!env[k]);
}
