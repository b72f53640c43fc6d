// The consumer's tools: TypeScript, run on bun, and the module type the typed consumer checks against.
export function greet(input: { name: string }): { greeting: string; runtime: string } {
  return { greeting: `hello ${input.name}`, runtime: typeof Bun === "undefined" ? "node" : "bun" };
}

export async function count(input: { items: string[] }): Promise<number> {
  return input.items.length;
}

export function fail(input: { message: string }): never {
  throw new Error(input.message);
}

declare const Bun: unknown;
