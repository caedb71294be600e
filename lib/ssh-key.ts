import sshpk from 'sshpk';

export interface ParsedKey { type: 'ed25519' | 'ecdsa' | 'rsa'; publicKey: string; fingerprint: string }

/** Why a public key is refused (a 400), or its normalized form: the key alone, re-serialized, its comment dropped. */
export function parsePublicKey(text: string): ParsedKey | { error: string } {
  if (/[\r\n\0]/.test(text.trim())) return { error: 'must be one line (an OpenSSH public key)' };
  let key: sshpk.Key;
  try {
    key = sshpk.parseKey(text.trim(), 'ssh');
  } catch {
    return { error: 'is not an OpenSSH public key (like "ssh-ed25519 AAAA... comment")' };
  }
  if (key.type !== 'ed25519' && key.type !== 'ecdsa' && key.type !== 'rsa') return { error: `a ${key.type} key is not accepted (ed25519, ecdsa or rsa)` };
  if (key.type === 'rsa' && key.size < 2048) return { error: `an rsa key of ${key.size} bits is too weak (at least 2048)` };
  // Re-serialized from what was parsed: nothing the user wrote (options, a second key) reaches authorized_keys.
  const publicKey = key.toString('ssh').split(' ').slice(0, 2).join(' ');
  return { type: key.type, publicKey, fingerprint: key.fingerprint('sha256').toString() };
}

/** The authorized_keys file of an instance: one key per line, each with the name it was registered under. */
export const authorizedKeys = (keys: { name: string; public_key: string }[]): string =>
  keys.map((k) => `${k.public_key} vcloud:${k.name}\n`).join('');
