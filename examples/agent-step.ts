// One agent step: the model answered with a short program instead of one tool call per turn;
// it runs in the kernel sandbox (no network, no writes, no host environment) and its only way
// out is the two host functions given to it, which run here with this process's rights.
// Run: npm run example:agent
import path from "node:path";
import { type HostFunctions, RuntimeFactory } from "tool-runtime";

const ORDERS: Record<string, { customer: string; total: number; status: string }> = {
  "A-1001": { customer: "ada@example.com", total: 42.5, status: "shipped" },
  "A-1002": { customer: "alan@example.com", total: 17, status: "processing" },
};

// Host functions run in the orchestrator: their arguments come from untrusted code, so each
// one checks them before doing anything.
const hostFunctions: HostFunctions = {
  getOrder: ({ id }: { id: unknown }) => {
    if (typeof id !== "string" || !/^A-\d{4}$/.test(id)) throw Object.assign(new Error("bad order id"), { code: "E_BAD_ID" });
    const order = ORDERS[id];
    if (!order) throw Object.assign(new Error(`no order ${id}`), { code: "E_NOT_FOUND" });
    return { id, ...order };
  },
  draftEmail: ({ to, body }: { to: unknown; body: unknown }, ctx) => {
    if (typeof to !== "string" || typeof body !== "string" || body.length > 2000) throw Object.assign(new Error("bad draft"), { code: "E_BAD_DRAFT" });
    // A real one would store the draft, tied to the calling step; `ctx.signal` cancels slow work.
    return { drafted: true, to, chars: body.length, step: ctx.toolExecId };
  },
};

// What a model might write, given the declarations of `host` (see mcpHostFunctions for a
// generated .d.ts text).
const modelWrittenCode = `
const orders = await Promise.all(input.ids.map((id: string) => host.getOrder({ id }).catch((e: Error & { code?: string }) => ({ id, error: e.code }))));
const late = orders.filter((o: any) => o.status === "processing");
const drafts = [];
for (const o of late) {
  drafts.push(await host.draftEmail({ to: o.customer, body: \`Order \${o.id} (\${o.total} EUR) is on its way soon.\` }));
}
export default { checked: orders.length, missing: orders.filter((o: any) => o.error).map((o: any) => o.id), drafts };
`;

async function main(): Promise<void> {
  const runtime = await new RuntimeFactory(path.join(__dirname)).createRuntime({
    entrypointPath: "tools.ts",
    permissions: [], // nothing: no reads beyond what bun needs to start, no writes, no network
    toolExecutionTimeoutMs: 10_000,
    hostFunctions,
  });
  try {
    const { result, metrics } = await runtime.executeCode(modelWrittenCode, {
      language: "ts",
      input: { ids: ["A-1001", "A-1002", "A-9999"] },
      metrics: true,
    });
    console.log("result:", JSON.stringify(result, null, 2));
    console.log(`host calls: ${metrics.hostCalls?.count}, ${metrics.hostCalls?.calls.map((c) => `${c.name} ${c.ok ? "ok" : c.code}`).join(", ")}`);

    // A syntax error in model-written code says where it is.
    try {
      await runtime.executeCode("const x = ;", { language: "ts" });
    } catch (e) {
      const err = e as { code: string; line: number; column: number };
      console.log(`syntax error -> ${err.code} at line ${err.line}, column ${err.column}`);
    }
  } finally {
    await runtime.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
