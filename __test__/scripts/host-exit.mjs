// Makes host calls through a reuse pool, then lets go of the runtime without close(): the
// process must be free to exit once nothing of its own is pending (the host functions of an
// ended call must not hold its event loop). Run by hostfn.spec.ts.
import { RuntimeFactory, testConfig } from "tool-runtime";

const rt = await new RuntimeFactory(process.argv[2]).createRuntime({
  ...testConfig(),
  runtimeType: process.argv[3],
  entrypointPath: "host.mjs",
  pool: { minIdle: 1, reuse: { maxCallsPerWorker: 10, maxRssMb: 512 } },
  hostFunctions: { add: ({ a, b }) => a + b, greet: ({ name }) => `Hello, ${name}!` },
});
const out = await rt.executeTool("twoAtOnce", "exit-1", { a: 1, b: 2, name: "x" });
process.stdout.write(JSON.stringify(out) + "\n");
