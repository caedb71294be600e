import pino from 'pino';

export function createLogger(name: string, level = process.env.VCLOUD_LOG_LEVEL ?? 'info') {
  return pino({ name, level });
}
export type Logger = ReturnType<typeof createLogger>;
