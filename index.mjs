// ES module entry: the same objects as the CommonJS entry, so `instanceof` works across both.
// Node finds the named exports in index.js's `module.exports = { ... }` itself.
export * from "./index.js";
export { default } from "./index.js";
