// Types of the ES module entry (index.mjs): the same declarations as the CommonJS entry's, so
// node16/nodenext resolution sees an ES module where node loads one.
export * from "./index.js";
export { default } from "./index.js";
