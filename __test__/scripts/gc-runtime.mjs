// Creates a runtime with warm workers, lets go of it without close(), collects garbage, and
// prints the worker pids it saw. Run with --expose-gc by lifecycle.spec.ts.
import { RuntimeFactory, testConfig } from "tool-runtime";

const root = process.argv[2];
let rt = await new RuntimeFactory(root).createRuntime({
  ...testConfig(),
  runtimeType: process.argv[3],
  entrypointPath: "tools.mjs",
  pool: { minIdle: 2 },
});
for (let i = 0; i < 600 && rt.pool.idle < 2; i++) await new Promise((r) => setTimeout(r, 50));
const pids = rt.pool.idlePids;
rt = null;
for (let i = 0; i < 10; i++) {
  globalThis.gc();
  await new Promise((r) => setTimeout(r, 20));
}
process.stdout.write(JSON.stringify({ pids }) + "\n");
// Stay alive (the test kills it): the workers must go because the runtime was collected, not because
// this process exited.
await new Promise((r) => setTimeout(r, 60_000));
