import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { projectRoot } from '../../lib/config';

describe('temporal.docker-compose.yml', () => {
  const doc = parse(fs.readFileSync(path.join(projectRoot, 'temporal.docker-compose.yml'), 'utf8'));

  test('declares a Postgres-backed server, its UI and admin tools, on the expected ports', () => {
    expect(Object.keys(doc.services).sort()).toEqual(['temporal', 'temporal-admin-tools', 'temporal-postgresql', 'temporal-ui']);
    expect(doc.services.temporal.ports).toEqual(['7233:7233']);
    expect(doc.services['temporal-ui'].ports).toEqual(['8080:8080']);
    expect(doc.services.temporal.environment).toEqual(expect.arrayContaining(['DB=postgres12', 'POSTGRES_SEEDS=temporal-postgresql']));
    expect(doc.services.temporal.depends_on).toEqual(['temporal-postgresql']);
    expect(doc.services['temporal-ui'].environment).toContain('TEMPORAL_ADDRESS=temporal:7233');
    expect(doc.services['temporal-admin-tools'].environment).toContain('TEMPORAL_ADDRESS=temporal:7233');
  });

  test('the dynamic config it mounts exists', () => {
    const mount = doc.services.temporal.volumes[0].split(':')[0];
    const file = doc.services.temporal.environment.find((e: string) => e.startsWith('DYNAMIC_CONFIG_FILE_PATH=')).split('/').pop();
    expect(fs.existsSync(path.join(projectRoot, mount, file))).toBe(true);
  });
});
