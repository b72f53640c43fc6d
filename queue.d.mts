// Types of the ES module entry of tool-runtime/queue (queue.mjs): the same declarations as the
// CommonJS entry's, so node16/nodenext resolution sees an ES module where node loads one.
export * from "./queue.js";
