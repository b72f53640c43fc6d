// ES module entry of tool-runtime/queue: the same objects as lib/queue/index.js.
export * from "./lib/queue/index.js";
export { default } from "./lib/queue/index.js";
