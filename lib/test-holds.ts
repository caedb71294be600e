import fs from 'node:fs';
import path from 'node:path';

/**
 * Test-only: lets the fault-injection tests stop a process at a named step. When the directory
 * VCLOUD_TEST_HOLDS_DIR holds a file called `name`, the step writes `name.reached` (with this
 * process's pid) and waits until `name` is removed. Without the variable, nothing happens.
 */
export async function holdIfAsked(name: string, whileWaiting?: () => void, signal?: AbortSignal): Promise<void> {
  const dir = process.env.VCLOUD_TEST_HOLDS_DIR;
  if (!dir) return;
  const file = path.join(dir, name);
  if (!fs.existsSync(file)) return;
  fs.writeFileSync(`${file}.reached`, String(process.pid));
  while (fs.existsSync(file)) {
    // A step cancelled while held ends as a cancelled step would.
    if (signal?.aborted) throw new Error(`${name}: cancelled while held`);
    whileWaiting?.();
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The same hold before every activity of a set, named `<prefix>.<activity>`. */
export function withHolds<T extends Record<string, (...args: any[]) => Promise<unknown>>>(prefix: string, activities: T): T {
  if (!process.env.VCLOUD_TEST_HOLDS_DIR) return activities;
  return Object.fromEntries(Object.entries(activities).map(([name, fn]) => [name, async (...args: unknown[]) => {
    await holdIfAsked(`${prefix}.${name}`);
    return fn(...args);
  }])) as T;
}
