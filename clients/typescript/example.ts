// How a frontend uses the generated types: a typed call per operation,
// compiled by `npm run check` in CI so a contract change that breaks
// callers fails the build.
import type { components, operations, paths } from "./schema";

type Schemas = components["schemas"];
type CustomerList = operations["listCustomers"]["responses"][200]["content"]["application/json"];
type ListCustomersQuery = NonNullable<operations["listCustomers"]["parameters"]["query"]>;
type Problem = Schemas["Problem"];

/** One gateway call: JSON on success, the RFC 9457 problem otherwise. */
export async function call<T>(base: string, token: string, path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${token}`);
  const res = await fetch(base + path, { ...init, headers });
  if (!res.ok) {
    const problem = (await res.json()) as Problem;
    const fields = (problem.errors ?? []).map((e) => `${e.location}: ${e.message}`);
    throw new Error(`${problem.status} ${problem.title}: ${problem.detail ?? ""} ${fields.join("; ")}`);
  }
  return (await res.json()) as T;
}

export async function customerPage(base: string, token: string, q: ListCustomersQuery): Promise<string[]> {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v !== undefined) params.set(k, String(v));
  }
  const list = await call<CustomerList>(base, token, `/v1/customers?${params}`);
  const missing = list.sources.filter((s) => s.status !== "ok").map((s) => s.vendor);
  if (!list.complete) console.warn(`partial answer; missing: ${missing.join(", ")}`);
  return list.items.map((c) => `${c.id} ${c.name}`);
}

export async function registerLicense(base: string, token: string, body: Schemas["LicenseRequest"], key: string): Promise<Schemas["LicenseResult"]> {
  return call<Schemas["LicenseResult"]>(base, token, "/v1/licenses", {
    method: "POST",
    headers: { "Content-Type": "application/json", "Idempotency-Key": key },
    body: JSON.stringify(body),
  });
}

export async function startSync(base: string, token: string, body: Schemas["SyncJobRequest"]): Promise<Schemas["SyncJobState"]> {
  const job = await call<Schemas["SyncJobResult"]>(base, token, "/v1/sync-jobs", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  return job.state;
}

// Every path the contract declares is known to the compiler.
export const customerPath: keyof paths = "/v1/customers";
