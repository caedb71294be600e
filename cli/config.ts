import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface CliConfig { url: string; token: string }

/** `$VCLOUD_CONFIG`, else `$XDG_CONFIG_HOME/vcloud/config.json` (`~/.config/vcloud/config.json`). */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VCLOUD_CONFIG) return env.VCLOUD_CONFIG;
  return path.join(env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'), 'vcloud', 'config.json');
}

/** The saved login, with `$VCLOUD_URL` and `$VCLOUD_TOKEN` taking precedence. */
export function readConfig(env: NodeJS.ProcessEnv = process.env): CliConfig | null {
  let saved: Partial<CliConfig> = {};
  try {
    saved = JSON.parse(fs.readFileSync(configPath(env), 'utf8'));
  } catch {
    saved = {};
  }
  const url = env.VCLOUD_URL ?? saved.url;
  const token = env.VCLOUD_TOKEN ?? saved.token;
  return url && token ? { url: url.replace(/\/+$/, ''), token } : null;
}

/** Saved for this user only: the directory 0700, the file 0600 (a token is a password). */
export function writeConfig(config: CliConfig, env: NodeJS.ProcessEnv = process.env): string {
  const file = configPath(env);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
  fs.chmodSync(file, 0o600);
  return file;
}
