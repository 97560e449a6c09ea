/**
 * The kernel as a preflight sees it: preflight changes nothing, so each listing (loop devices,
 * dm devices, mounts) is read from the kernel once and shared by the workflow's own checks and
 * its steps' kind checks (no second `losetup -l` for the same question).
 */
import type { Kernel } from '../kernel/types.js';

type Listing = 'loop' | 'dm' | 'mounts';

function listedOnce<F extends object>(facility: F): F {
  let listed: Promise<unknown> | undefined;
  return new Proxy(facility, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (prop === 'list' && typeof v === 'function') return () => (listed ??= (v as () => Promise<unknown>).call(target));
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

export function preflightView(kernel: Kernel): Kernel {
  const once = new Map<Listing, object>((['loop', 'dm', 'mounts'] as const).map((k) => [k, listedOnce(kernel[k])]));
  return new Proxy(kernel, {
    get(target, prop) {
      return once.get(prop as Listing) ?? Reflect.get(target, prop, target);
    },
  });
}
