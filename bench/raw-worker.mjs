// A persistent tool process speaking newline-delimited JSON: each stdin line `{ id, toolId, input }`
// gets one stdout line `{ id, result }` (or `{ id, error }`). Exits when stdin ends.
// Runs under node and under bun (bun uses its own stdin/stdout APIs).
import * as tools from "./tools.mjs";

async function handle(line, write) {
  if (line.length === 0) return;
  const { id, toolId, input } = JSON.parse(line);
  try {
    const result = await tools[toolId](input, null, null);
    write(JSON.stringify({ id, result }) + "\n");
  } catch (e) {
    write(JSON.stringify({ id, error: String(e && e.message) }) + "\n");
  }
}

function splitter(write) {
  let buf = "";
  return (chunk) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      void handle(line, write);
    }
  };
}

if (typeof Bun !== "undefined") {
  const writer = Bun.stdout.writer();
  const write = (s) => {
    writer.write(s);
    writer.flush();
  };
  const feed = splitter(write);
  const decoder = new TextDecoder();
  for await (const chunk of Bun.stdin.stream()) feed(decoder.decode(chunk, { stream: true }));
} else {
  const write = (s) => process.stdout.write(s);
  const feed = splitter(write);
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", feed);
}
