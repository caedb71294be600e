/**
 * The typed vcloud client: openapi-fetch over the types openapi-typescript generated from the API's own
 * OpenAPI document (client/schema.d.ts, `npm run gen:client`). A path, its parameters, its body and its
 * answer are checked by the compiler against what the API validates. The CLI, the console and the tests use it.
 */
import createClient from 'openapi-fetch';
import type { paths, components } from './schema';

export type { paths, components };
export type Schemas = components['schemas'];
export type VcloudClient = ReturnType<typeof createVcloudClient>;

export interface ClientOptions {
  url: string;
  /** A vcloud token (vc_...); none for the public routes. */
  token?: string | null;
  /** Every call is bounded: 30 s unless told. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export function createVcloudClient(o: ClientOptions) {
  const timeoutMs = o.timeoutMs ?? 30_000;
  return createClient<paths>({
    baseUrl: o.url.replace(/\/+$/, ''),
    headers: o.token ? { authorization: `Bearer ${o.token}` } : {},
    // The global fetch is called as itself (a browser refuses it detached from its window).
    fetch: (req: Request) => (o.fetch ? o.fetch(req, { signal: AbortSignal.timeout(timeoutMs) }) : globalThis.fetch(req, { signal: AbortSignal.timeout(timeoutMs) })),
  });
}

type Problem = { title?: string; detail?: string; status?: number; errors?: { path: string; message: string }[] };

/** An answer of the API that is not a success: its problem+json, shown as the API wrote it. */
export class ApiProblem extends Error {
  constructor(readonly status: number, readonly problem: Problem) {
    const fields = (problem.errors ?? []).map((e) => `  ${e.path || '(body)'}: ${e.message}`).join('\n');
    super(`${status} ${problem.title ?? 'Error'}: ${problem.detail ?? ''}${fields ? `\n${fields}` : ''}`);
  }
}

/** The answer's data, or its problem thrown as an ApiProblem. */
export function ok<D>(r: { data?: D; error?: unknown; response: Response }): D {
  if (r.response.ok) return r.data as D;
  const e = r.error;
  const problem: Problem = typeof e === 'object' && e !== null ? (e as Problem) : { title: r.response.statusText, detail: String(e ?? '') };
  throw new ApiProblem(r.response.status, problem);
}
