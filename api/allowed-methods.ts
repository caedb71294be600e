import type { Express } from 'express';

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
  name: string;
  match(path: string): boolean;
}

/**
 * The methods some route answers for `path`, for a 405's Allow header. Express 4 keeps its routes
 * in router stacks (ours are mounted at the root, so the path is the same at every level).
 */
export function allowedMethods(app: Express, path: string): string[] {
  const found = new Set<string>();
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        if (layer.match(path)) for (const [m, on] of Object.entries(layer.route.methods)) if (on && m !== '_all') found.add(m.toUpperCase());
      } else if (layer.name === 'router' && layer.handle.stack) walk(layer.handle.stack);
    }
  };
  walk(((app as unknown as { _router?: { stack: Layer[] } })._router?.stack) ?? []);
  if (found.has('GET')) found.add('HEAD');
  return [...found].sort();
}

/** Every route the app serves, as method and express path (the contract test compares them with the document). */
export function listRoutes(app: Express): { method: string; path: string }[] {
  const out: { method: string; path: string }[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const [m, on] of Object.entries(layer.route.methods)) if (on && m !== '_all') out.push({ method: m, path: layer.route.path });
      } else if (layer.name === 'router' && layer.handle.stack) walk(layer.handle.stack);
    }
  };
  walk(((app as unknown as { _router?: { stack: Layer[] } })._router?.stack) ?? []);
  return out;
}
