/** The in-process world of the engine and crash tests: `flow verify`'s simulated host (src/verify/world.ts). */
export { SimWorld as World, STATE_DIR } from '../../src/verify/world.js';
