// Piscina task for bench/bench.ts: `{ toolId, input }` -> the tool's result (worker thread, no isolation).
import * as tools from "./tools.mjs";

export default function run({ toolId, input }) {
  return tools[toolId](input, null, null);
}
