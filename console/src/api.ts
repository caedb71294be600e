import { ApiProblem, createVcloudClient, ok, type Schemas, type VcloudClient } from '../../client';

export { ApiProblem, ok };
export type { Schemas, VcloudClient };
export type Instance = Schemas['Instance'];
export type Operation = Schemas['Operation'];
export type Me = Schemas['Me'];

const TOKEN_KEY = 'vcloud.token';

/** The token lives for the browser tab's session only (a token is a password). */
export const savedToken = (): string | null => sessionStorage.getItem(TOKEN_KEY);
export const saveToken = (token: string | null): void => {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
};

/** The typed client against the API that served this page. */
export const clientFor = (token: string): VcloudClient => createVcloudClient({ url: window.location.origin, token });

/** A problem's words for the user: the API's own title and detail, and which field. */
export function describe(err: unknown): string {
  if (err instanceof ApiProblem) return err.message;
  return err instanceof Error ? err.message : String(err);
}
