import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/contract/**/*.test.ts', 'test/crash/**/*.test.ts'],
          environment: 'node',
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'cli',
          include: ['test/cli/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'lab',
          include: ['test/lab/**/*.test.ts'],
          environment: 'node',
          testTimeout: 300_000,
          // hooks build images and attach devices under emulation: vitest's 10 s default
          // failed dm-create-kill-real's image build on a loaded host (2026-12-05)
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        // on the host, as root: boots the kernel lab itself (scripts/lab) and cuts its power
        test: {
          name: 'powercut',
          include: ['test/powercut/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 4_800_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
