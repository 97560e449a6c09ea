/**
 * The test build's `flow exec` runner on the fake kernel: a fake root is a plain directory
 * (the fake kernel mounts nothing on the host), so there is nothing to chroot into. The
 * command runs on the host with that directory as its working directory and
 * FLOW_EXEC_ROOT naming it; what it does there (write a file, exit 7, kill flow) is real.
 */
import { spawnForwarding, type CommandRunner } from '../exec/command.js';

export const fakeRootRunner: CommandRunner = (root, argv, env) => spawnForwarding(argv, { cwd: root, env: { ...env, FLOW_EXEC_ROOT: root } });
