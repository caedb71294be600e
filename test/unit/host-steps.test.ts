import { MockActivityEnvironment } from '@temporalio/testing';
import { HostSteps } from '../../activities/host/host-step';
import { run } from '../../host/run';

// A host step heartbeats, runs one attempt at a time per key, and kills its commands when cancelled.
describe('host steps', () => {
  test('a second attempt with the same key waits for the first to end; other keys do not wait', async () => {
    const steps = new HostSteps('host-unit');
    const order: string[] = [];
    const step = (label: string, key: string, ms: number) => new MockActivityEnvironment().run(() => steps.run('x', key, async () => {
      order.push(`${label} start`);
      await new Promise((r) => setTimeout(r, ms));
      order.push(`${label} end`);
    }));
    await Promise.all([step('first', 'i-1', 300), step('second', 'i-1', 10), step('other', 'i-2', 10)]);
    expect(order.indexOf('second start')).toBeGreaterThan(order.indexOf('first end'));
    expect(order.indexOf('other end')).toBeLessThan(order.indexOf('first end'));
  });

  test('it heartbeats its phase, and a cancel kills the command it runs at once', async () => {
    const steps = new HostSteps('host-unit');
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const started = Date.now();
    const attempt = env.run(() => steps.run('long', 'i-3', async (t) => {
      t.progress('copying', { bytes: 1 });
      await run('sleep', ['30']);
    }));
    await new Promise((r) => setTimeout(r, 300));
    env.cancel();
    await expect(attempt).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(beats).toContainEqual({ phase: 'copying', bytes: 1 });
    // The key is free again: the next attempt runs.
    await expect(new MockActivityEnvironment().run(() => steps.run('long', 'i-3', async () => 'next'))).resolves.toBe('next');
  });
});
