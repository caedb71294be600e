import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { ValidateFunction } from 'ajv';
import { openapi } from '../../api/openapi';
import type { ApiAnswer } from './platform';

type Doc = { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>>; components: object };

/**
 * Checks API answers against the generated OpenAPI document: the route is in it, the status is one it
 * documents, the media type is the documented one, and the body validates (JSON Schema 2020-12, as
 * OpenAPI 3.1 says). Remembers which routes answered a success.
 */
export function contractChecker() {
  const doc = openapi as unknown as Doc;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const compiled = new Map<string, ValidateFunction>();
  const templates = Object.keys(doc.paths).map((t) => ({ t, re: new RegExp(`^${t.replace(/\{\w+\}/g, '[^/]+')}$`) }));
  const succeeded = new Set<string>();
  const answered = new Map<string, Set<number>>();

  /** The document's path for a concrete URL (the most literal one when several match). */
  const templateOf = (url: string): string | undefined => {
    const p = url.split('?')[0];
    const matches = templates.filter((x) => x.re.test(p));
    return matches.sort((a, b) => (a.t.match(/\{/g)?.length ?? 0) - (b.t.match(/\{/g)?.length ?? 0))[0]?.t;
  };

  function check(method: string, url: string, res: ApiAnswer): string[] {
    const template = templateOf(url);
    const m = method.toLowerCase();
    if (!template) return [`${method} ${url}: no such path in the document`];
    const operation = doc.paths[template][m];
    if (!operation) return res.status === 405 ? [] : [`${method} ${template}: not in the document (answered ${res.status})`];
    const key = `${m} ${template}`;
    answered.set(key, new Set([...(answered.get(key) ?? []), res.status]));
    const documented = operation.responses[String(res.status)];
    if (!documented) return [`${key}: status ${res.status} is not documented (${JSON.stringify(res.body).slice(0, 200)})`];
    if (res.status < 300) succeeded.add(key);
    const content = documented.content;
    if (!content) return res.status === 204 || res.body === '' ? [] : [`${key} ${res.status}: a body where none is documented`];
    const media = Object.keys(content).find((t) => res.contentType.startsWith(t));
    if (!media) return [`${key} ${res.status}: ${res.contentType}, documented ${Object.keys(content).join(', ')}`];
    if (!media.includes('json')) return [];
    const id = `${key} ${res.status} ${media}`;
    let validate = compiled.get(id);
    if (!validate) {
      validate = ajv.compile({ ...content[media].schema, components: doc.components });
      compiled.set(id, validate);
    }
    return validate(res.body) ? [] : [`${id}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(res.body).slice(0, 300)}`];
  }

  return { check, succeeded, answered, templateOf };
}
