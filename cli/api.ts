import type { CliConfig } from './config';

/** An answer of the API that is not a success: its problem+json, shown as the API wrote it. */
export class ApiProblem extends Error {
  constructor(readonly status: number, readonly problem: { title?: string; detail?: string; errors?: { path: string; message: string }[] }) {
    const fields = (problem.errors ?? []).map((e) => `  ${e.path || '(body)'}: ${e.message}`).join('\n');
    super(`${status} ${problem.title ?? 'Error'}: ${problem.detail ?? ''}${fields ? `\n${fields}` : ''}`);
  }
}

export type Api = <T = any>(method: string, path: string, body?: unknown) => Promise<T>;

/** The API with the login's token; every call bounded by `timeoutMs`. */
export function apiFor(config: CliConfig, timeoutMs = 30_000): Api {
  return async (method, path, body) => {
    const res = await fetch(`${config.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${config.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    const parsed = text ? safeJson(text) : undefined;
    if (!res.ok) throw new ApiProblem(res.status, typeof parsed === 'object' && parsed ? parsed : { title: res.statusText, detail: text });
    return parsed;
  };
}

function safeJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text };
  }
}
