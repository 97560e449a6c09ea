/** flow's version and default state directory: a module of its own so `flow --version` and the fast `flow list` load nothing else. */
export const FLOW_VERSION = '0.1.0';
export const DEFAULT_STATE_DIR = '/var/lib/flow';
