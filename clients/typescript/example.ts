// How a frontend uses the generated types: the README's "Frontend" walk-through
// (list, page, open the 360 view section by section, register a licence,
// start and poll a sync) as typed calls straight to the gateway from the
// browser (CORS; no proxy). Compiled by `npm run check` in CI, so a contract
// change that breaks callers fails the build. deploy/test/frontend/app.js
// makes the same calls in the headless-Chromium check.
import type { components, operations, paths } from "./schema";

type Schemas = components["schemas"];
type CustomerList = operations["listCustomers"]["responses"][200]["content"]["application/json"];
type ListCustomersQuery = NonNullable<operations["listCustomers"]["parameters"]["query"]>;
type CustomerView = operations["getCustomer"]["responses"][200]["content"]["application/json"];
type SyncJob = operations["getSyncJob"]["responses"][200]["content"]["application/json"];
type Problem = Schemas["Problem"];

/** The 360 view's sections: every key of the view but the customer and the answer's sources. */
export type SectionName = Exclude<keyof CustomerView, "customer" | "sources" | "complete">;

/** A failed call: the RFC 9457 problem, with its field errors for a form. */
export class GatewayError extends Error {
  constructor(readonly problem: Problem, readonly requestId: string | null) {
    const fields = (problem.errors ?? []).map((e) => `${e.location}: ${e.message}`);
    super(`${problem.status} ${problem.title}: ${problem.detail ?? ""} ${fields.join("; ")}`);
  }
}

/** One gateway call: the JSON and the answer's headers (Location, X-Request-Id, ... are exposed to allowed origins). */
export async function call<T>(base: string, token: string, path: string, init: RequestInit = {}): Promise<{ body: T; headers: Headers }> {
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${token}`); // never cookies: fetch's default credentials mode is right
  if (init.body !== undefined) headers.set("Content-Type", "application/json");
  const res = await fetch(base + path, { ...init, headers });
  if (!res.ok) throw new GatewayError((await res.json()) as Problem, res.headers.get("X-Request-Id"));
  return { body: (await res.json()) as T, headers: res.headers };
}

/** One page of customers for a data grid; `start` is the 1-based position of its first row. */
export async function customerPage(base: string, token: string, q: ListCustomersQuery, start = 1): Promise<{
  rows: string[]; range: string; next: string | undefined; previous: string | undefined; partial: string[];
}> {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v !== undefined) params.set(k, String(v)); // arrays (vendor) become comma-separated
  }
  const { body } = await call<CustomerList>(base, token, `/v1/customers?${params}`);
  // complete is false when a vendor's part is missing or stale: say so in the UI.
  const partial = body.sources.filter((s) => s.status !== "ok" || s.stale).map((s) => s.vendor);
  const end = start + body.items.length - 1;
  return {
    rows: body.items.map((c) => `${c.id} ${c.name} (${c.kind})`),
    range: `${start}–${end} of ${body.total_size ?? "?"}`, // "1–50 of 146"
    next: body.next_page_token, previous: body.previous_page_token, partial,
  };
}

/** The first page sorted by name, Z to A: order_by is AIP-132, "field" or "field desc". */
export const sortedByNameDesc = (base: string, token: string) =>
  customerPage(base, token, { page_size: 50, order_by: "name desc" });

type Include = NonNullable<NonNullable<operations["getCustomer"]["parameters"]["query"]>["include"]>;

/** The 360 view one section at a time: every section is requested at once and rendered as it arrives. */
export function loadSections(base: string, token: string, customerId: string, sections: Include,
  render: (section: SectionName, view: CustomerView, asOf: string | undefined) => void, failed: (section: SectionName, err: unknown) => void): Promise<void[]> {
  return Promise.all(sections.map((s) =>
    call<CustomerView>(base, token, `/v1/customers/${encodeURIComponent(customerId)}?include=${s}`)
      .then(({ body }) => render(s, body, body[s]?.as_of), (err: unknown) => failed(s, err))));
}

/** Registers a user; the key makes a retry of the same click safe. The licence is then at /v1/licenses/{id} (Location). */
export async function registerLicense(base: string, token: string, body: Schemas["LicenseRequest"], key: string): Promise<{ licence: Schemas["LicenseResult"]; location: string | null }> {
  const { body: licence, headers } = await call<Schemas["LicenseResult"]>(base, token, "/v1/licenses", {
    method: "POST",
    headers: { "Idempotency-Key": key },
    body: JSON.stringify(body),
  });
  return { licence, location: headers.get("Location") };
}

/** Starts a sync and polls it until it ends; onState sees each state it passes through. */
export async function runSync(base: string, token: string, body: Schemas["SyncJobRequest"], key: string,
  onState: (job: SyncJob) => void, pollMs = 1000): Promise<SyncJob> {
  const { body: started, headers } = await call<Schemas["SyncJobResult"]>(base, token, "/v1/sync-jobs", {
    method: "POST",
    headers: { "Idempotency-Key": key },
    body: JSON.stringify(body),
  });
  const where = headers.get("Location") ?? `/v1/sync-jobs/${started.id}`;
  const final: Schemas["SyncJobState"][] = ["succeeded", "failed", "accepted"];
  let job: SyncJob = started;
  onState(job);
  while (!final.includes(job.state)) {
    await new Promise((r) => setTimeout(r, pollMs));
    job = (await call<SyncJob>(base, token, where)).body;
    onState(job);
  }
  return job;
}

/** The Axema user sync of the gateway's BokaMera company, polled to its end. */
export const axemaSync = (base: string, token: string, onState: (job: SyncJob) => void) =>
  runSync(base, token, { kind: "axema_users" }, crypto.randomUUID(), onState);

// Every path the contract declares is known to the compiler.
export const customerPath: keyof paths = "/v1/customers";
