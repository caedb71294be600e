import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../lib/config';
import { createDb, migrateLatest } from '../db/connection';
import { upsertZone, getZone, addPool } from '../db/zones';
import { createUser, findUserByName, issueToken } from '../db/users';
import { seedBuiltImages } from '../db/images';

/**
 * Seeds a zone with its pool, the first admin (token written once, mode 0600) and the images
 * that scripts/build-images.sh made. Safe to run again: what exists is left alone.
 */
async function main() {
  const config = loadConfig();
  const env = (k: string, d: string) => process.env[k] ?? d;
  const zone = {
    id: env('VCLOUD_SEED_ZONE', 'default'),
    subnet: env('VCLOUD_SEED_SUBNET', '10.213.0.0/24'),
    gateway: env('VCLOUD_SEED_GATEWAY', '10.213.0.1'),
    bridge: env('VCLOUD_SEED_BRIDGE', 'vcbr0'),
  };
  const [first, last] = env('VCLOUD_SEED_POOL', '10.213.0.10-10.213.0.250').split('-');
  const tokenFile = env('VCLOUD_ADMIN_TOKEN_FILE', path.join(config.dataDir, 'admin-token'));
  const db = createDb(config.databaseUrl, { min: 0, max: 2 });
  try {
    await migrateLatest(db);
    if (!(await getZone(db, zone.id))) {
      await db.transaction(async (trx) => {
        await upsertZone(trx, zone);
        await addPool(trx, zone, first, last);
      });
    }
    let admin = await findUserByName(db, 'admin');
    admin ??= await createUser(db, 'admin', 'admin');
    if (!fs.existsSync(tokenFile)) {
      const { token } = await issueToken(db, admin.id);
      fs.writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    }
    const manifestPath = path.join(config.dataDir, 'images', 'manifest.json');
    if (fs.existsSync(manifestPath)) {
      const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
      await seedBuiltImages(db, manifest);
    }
    console.log(`zone ${zone.id} (${zone.subnet} on ${zone.bridge}); admin token in ${tokenFile}`);
  } finally {
    await db.destroy();
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
