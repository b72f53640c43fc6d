// Types that derive a tool's input and result from the entrypoint's module type, so an
// orchestrator written in TypeScript gets checked calls:
//
//   type Tools = typeof import("./tools");
//   const runtime = await factory.createRuntime<Tools>({ entrypointPath: "./tools.ts" });
//   const out = await runtime.executeTool("greet", newId(), { name: "Ada" }); // ToolOutput<Tools, "greet">
//
// The types describe what the runtime delivers; they are not checked at run time (the tool's
// code in the child process decides what really comes back).

import type { ExecuteOptions, ResultWithMetrics, Runtime } from "../index.js";

type AnyFunction = (...args: any[]) => any;
type FunctionKeys<T> = { [K in keyof T]-?: T[K] extends AnyFunction ? K : never }[keyof T] & string;
type DefaultObject<M> = M extends { default: infer D } ? (D extends AnyFunction ? never : D extends object ? D : never) : never;

/** The tool ids of an entrypoint: its named function exports and the functions of its default export object. */
export type ToolId<M> = Exclude<FunctionKeys<M>, "default"> | FunctionKeys<DefaultObject<M>>;

/** The function behind a tool id (a named export wins over a default-export property, as in the harness). */
export type ToolFunction<M, Id extends ToolId<M>> = Id extends Exclude<FunctionKeys<M>, "default">
  ? M[Id]
  : Id extends keyof DefaultObject<M>
    ? DefaultObject<M>[Id]
    : never;

/** What a tool takes as its first argument (`{}` reaches it when the caller passes nothing). */
export type ToolInput<M, Id extends ToolId<M>> = ToolFunction<M, Id> extends (input: infer I, ...rest: any[]) => any ? I : never;

/** How a returned value arrives: plain objects as returned, other JSON values as `{ value }`, `undefined` as `{}`. */
export type Delivered<T> = [T] extends [undefined | void]
  ? Record<string, never>
  : T extends readonly unknown[] | string | number | boolean | null
    ? { value: T }
    : T extends object
      ? T
      : { value: T };

/** What a call of the tool resolves with. */
export type ToolOutput<M, Id extends ToolId<M>> = ToolFunction<M, Id> extends (...args: any[]) => infer R ? Delivered<Awaited<R>> : never;

type Env = Record<string, string> | null | undefined;

/** A `Runtime` whose calls are checked against the entrypoint's module type `M`. */
export interface TypedRuntime<M> extends Omit<Runtime, "executeTool" | "executeToolWithTimeout"> {
  executeTool<Id extends ToolId<M>>(
    toolId: Id,
    toolExecId: string,
    input: ToolInput<M, Id>,
    env: Env,
    options: ExecuteOptions & { metrics: true },
  ): Promise<ResultWithMetrics<ToolOutput<M, Id>>>;
  executeTool<Id extends ToolId<M>>(
    toolId: Id,
    toolExecId: string,
    input: ToolInput<M, Id>,
    env?: Env,
    options?: ExecuteOptions,
  ): Promise<ToolOutput<M, Id>>;
  executeToolWithTimeout<Id extends ToolId<M>>(
    toolId: Id,
    toolExecId: string,
    input: ToolInput<M, Id>,
    env: Env,
    timeoutMs: number,
    options: ExecuteOptions & { metrics: true },
  ): Promise<ResultWithMetrics<ToolOutput<M, Id>>>;
  executeToolWithTimeout<Id extends ToolId<M>>(
    toolId: Id,
    toolExecId: string,
    input: ToolInput<M, Id>,
    env: Env,
    timeoutMs: number,
    options?: ExecuteOptions,
  ): Promise<ToolOutput<M, Id>>;
}
