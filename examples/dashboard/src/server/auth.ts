import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { webcrypto } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';

/** Roles, weakest first: each role may do what the ones before it may. */
export const ROLES = ['viewer', 'trader', 'admin'] as const;
/** A user's role. */
export type Role = (typeof ROLES)[number];

/** A demo user from the configuration. */
export interface DemoUser {
  readonly username: string;
  readonly password: string;
  readonly role: Role;
}

/** Who made a request, from a verified access token. */
export interface AuthUser {
  readonly username: string;
  readonly role: Role;
  /** When the verified token expires (epoch ms). */
  readonly expiresAt?: number | undefined;
  /** The session the token belongs to (see sessions.ts). */
  readonly sid?: string | undefined;
  /** Refresh tokens: the session generation they carry. */
  readonly gen?: number | undefined;
}

/** Access and refresh tokens, as returned by login and refresh. */
export interface TokenPair {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly tokenType: 'Bearer';
  readonly expiresIn: number;
  readonly role: Role;
}

/** True when `role` may do what `needed` may. */
export function hasRole(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/** A random secret for development, when JWT_SECRET is not set. */
export function generatedSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The development secret kept in the data dir (`jwt-secret`, mode 0600) when
 * JWT_SECRET is not set: generated on the first start, read on the next ones,
 * so tokens (and the pages holding them) survive a restart.
 */
export async function dataDirSecret(dataDir: string): Promise<{ secret: string; file: string; created: boolean }> {
  const file = join(dataDir, 'jwt-secret');
  try {
    const secret = (await readFile(file, 'utf8')).trim();
    if (secret.length >= 32) return { secret, file, created: false };
  } catch {
    // not there yet
  }
  const secret = generatedSecret();
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, secret + '\n', { mode: 0o600 });
  return { secret, file, created: true };
}

/**
 * Issues and verifies the server's JWTs (HS256 with jose): short-lived access
 * tokens carrying the role, longer refresh tokens that can only mint new pairs.
 */
export class TokenIssuer {
  /** Imported once: handing jose the raw bytes re-imports the key for every token (WebCrypto), a cost per request and per WebSocket upgrade. */
  private readonly key: Promise<webcrypto.CryptoKey>;

  constructor(
    secret: string,
    private readonly accessTtlS = 900,
    private readonly refreshTtlS = 7 * 86_400,
  ) {
    this.key = globalThis.crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  }

  /** A token pair of a session: the access token names it (`sid`), the refresh token also carries its generation (`gen`, rotation). */
  async issue(user: AuthUser, session: { readonly sid: string; readonly gen: number }): Promise<TokenPair> {
    const now = Math.floor(Date.now() / 1000);
    const key = await this.key;
    const sign = (typ: string, ttl: number): Promise<string> =>
      new SignJWT({ role: user.role, typ, sid: session.sid, ...(typ === 'refresh' ? { gen: session.gen } : {}) })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(user.username)
        .setIssuedAt(now)
        .setExpirationTime(now + ttl)
        .sign(key);
    return { accessToken: await sign('access', this.accessTtlS), refreshToken: await sign('refresh', this.refreshTtlS), tokenType: 'Bearer', expiresIn: this.accessTtlS, role: user.role };
  }

  /** The user of a valid token of the given type, else undefined. */
  async verify(token: string, typ: 'access' | 'refresh'): Promise<AuthUser | undefined> {
    try {
      const { payload } = await jwtVerify(token, await this.key, { algorithms: ['HS256'], requiredClaims: ['exp', 'sub'] });
      if (payload.typ !== typ || typeof payload.sub !== 'string' || !ROLES.includes(payload.role as Role) || typeof payload.sid !== 'string') return undefined;
      if (typ === 'refresh' && typeof payload.gen !== 'number') return undefined;
      return { username: payload.sub, role: payload.role as Role, expiresAt: (payload.exp as number) * 1000, sid: payload.sid, gen: typeof payload.gen === 'number' ? payload.gen : undefined };
    } catch {
      return undefined;
    }
  }
}
