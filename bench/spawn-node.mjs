// Hand-written "spawn per call" alternative, node flavour: read one JSON line
// `{ toolId, input }` from stdin, call the tool from tools.mjs, write its JSON result to stdout.
import * as tools from "./tools.mjs";

let text = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) {
  text += chunk;
  if (text.includes("\n")) break;
}
const { toolId, input } = JSON.parse(text.split("\n", 1)[0]);
const result = await tools[toolId](input, null, null);
process.stdout.write(JSON.stringify(result) + "\n");
