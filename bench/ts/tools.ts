// The TypeScript twin of bench/tools.mjs's trivial tool, importing a .ts file (bench/typescript.ts).
import { answer, type Answer } from "./helper.ts";

export function trivial(input: { n: number }): Answer {
  return answer(input.n);
}
