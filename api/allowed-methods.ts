import type { Express } from 'express';

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
  name: string;
  match(path: string): boolean;
}

/**
 * Every route layer of the app with its methods. Express 4 keeps its routes in router stacks (ours are
 * mounted at the root, so the path is the same at every level).
 */
function routeLayers(app: Express): { layer: Layer; methods: string[] }[] {
  const out: { layer: Layer; methods: string[] }[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) out.push({ layer, methods: Object.entries(layer.route.methods).filter(([m, on]) => on && m !== '_all').map(([m]) => m) });
      else if (layer.name === 'router' && layer.handle.stack) walk(layer.handle.stack);
    }
  };
  walk(((app as unknown as { _router?: { stack: Layer[] } })._router?.stack) ?? []);
  return out;
}

/** The methods some route answers for `path`, for a 405's Allow header. */
export function allowedMethods(app: Express, path: string): string[] {
  const found = new Set(routeLayers(app).filter(({ layer }) => layer.match(path)).flatMap(({ methods }) => methods.map((m) => m.toUpperCase())));
  if (found.has('GET')) found.add('HEAD');
  return [...found].sort();
}

/** Every route the app serves, as method and express path (the contract test compares them with the document). */
export function listRoutes(app: Express): { method: string; path: string }[] {
  return routeLayers(app).flatMap(({ layer, methods }) => methods.map((method) => ({ method, path: layer.route!.path })));
}
