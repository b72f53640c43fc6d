// The same tools in JavaScript, for node.
export function greet(input) {
  return { greeting: `hello ${input.name}`, runtime: typeof Bun === "undefined" ? "node" : "bun" };
}

export async function count(input) {
  return input.items.length;
}

export function fail(input) {
  throw new Error(input.message);
}
