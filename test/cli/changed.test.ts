/**
 * `--json`'s `changed` (issue 13, for configuration management's `changed_when`): true when
 * this invocation wrote the run's journal (a run started, resumed or rolled back now), false
 * when it found the run already as asked (a `--key` whose run is done, a rollback of a
 * rolled-back run); the journal and the kernel then hold exactly what they held.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Sandbox } from './harness.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
  sb.file('d.img', 64 << 20);
});
afterEach(() => sb.cleanup());

const RUN = (key: string) => ['run', 'delayed-device', '--key', key, '--file', 'd.img', '--no-mount', '--json'];
const journal = (id: string) => readFileSync(join(sb.stateDir, 'runs', `${id}.json`));
const kernel = () => readFileSync(sb.kernelFile, 'utf8');

function json(args: string[], env: Record<string, string> = {}): { code: number | null; out: { id: string; status: string; changed: boolean } } {
  const r = sb.flow(args, env);
  return { code: r.code, out: JSON.parse(r.stdout) };
}

describe('--json: changed', () => {
  it('run --key: a new run changed; the same key again, done: not changed, nothing written', () => {
    const first = json(RUN('web-1'));
    expect(first).toMatchObject({ code: 0, out: { status: 'done', changed: true } });
    const [j, k] = [journal(first.out.id), kernel()];
    const again = json(RUN('web-1'));
    expect(again).toMatchObject({ code: 0, out: { id: first.out.id, status: 'done', changed: false } });
    expect(journal(first.out.id)).toEqual(j);
    expect(kernel()).toBe(k);
  });

  it('run --key of a run killed mid-step: resumed now, changed', () => {
    const crashed = sb.flow(RUN('web-2'), { FLOW_CRASH_AT: 'apply:create-delay:command-done' });
    expect(crashed.signal).toBe('SIGKILL');
    const r = json(RUN('web-2'));
    expect(r).toMatchObject({ code: 0, out: { status: 'done', changed: true } });
    expect(json(RUN('web-2')).out).toMatchObject({ id: r.out.id, changed: false });
  });

  it('rollback: changed; a rollback of the rolled-back run: not changed, nothing written', () => {
    const { id } = json(RUN('web-3')).out;
    expect(json(['rollback', id, '--json'])).toMatchObject({ code: 0, out: { status: 'rolled-back', changed: true } });
    const [j, k] = [journal(id), kernel()];
    expect(json(['rollback', id, '--json'])).toMatchObject({ code: 0, out: { status: 'rolled-back', changed: false } });
    expect(journal(id)).toEqual(j);
    expect(kernel()).toBe(k);
  });
});
