// Hand-written "spawn per call" alternative, bun flavour: the same protocol as spawn-node.mjs,
// through bun's fast I/O (touching `process.stdin` costs bun ~30 ms at start).
import * as tools from "./tools.mjs";

const text = await Bun.stdin.text();
const { toolId, input } = JSON.parse(text.split("\n", 1)[0]);
const result = await tools[toolId](input, null, null);
await Bun.write(Bun.stdout, JSON.stringify(result) + "\n");
