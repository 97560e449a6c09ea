/** One finding of `flow doctor`. */
export interface Check {
  /** e.g. "root", "tool:losetup", "dm:driver", "dm:target:snapshot", "state-dir" */
  check: string;
  /** fail: flow cannot work (exit 1); warn: flow copes, but something wants a look; ok */
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  /** what to do about a warn or fail */
  fix?: string;
  /** a tool's version as it reports it */
  version?: string;
}

export const ok = (check: string, detail: string, more: Partial<Check> = {}): Check => ({ check, status: 'ok', detail, ...more });
export const fail = (check: string, detail: string, fix: string): Check => ({ check, status: 'fail', detail, fix });
export const warn = (check: string, detail: string, fix: string): Check => ({ check, status: 'warn', detail, fix });
