import type { IncomingMessage } from 'node:http';
import { webcrypto } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { CryptoKey, JWTHeaderParameters, JWTPayload, JWTVerifyOptions, KeyObject } from 'jose';
import { z } from 'zod';
import { TickflowError, formatIssues } from '@tickflow/core';
import type { AuthenticateHook, Principal } from './wsServer.js';

/** Options of jwtAuth: exactly one of `secret`, `publicKey` or `jwksUrl`. */
export const JwtAuthOptionsSchema = z
  .object({
    /** Shared secret for HS256/384/512 tokens. */
    secret: z.union([z.string().min(16, 'secret must be at least 16 characters'), z.instanceof(Uint8Array)]).optional(),
    /** Public key (CryptoKey or KeyObject) for RS/ES/EdDSA tokens. */
    publicKey: z.custom<CryptoKey | KeyObject>((v) => typeof v === 'object' && v !== null, 'publicKey must be a CryptoKey or KeyObject').optional(),
    /** JWKS endpoint (keys fetched and cached by jose). */
    jwksUrl: z.string().url().optional(),
    /** Required `iss`. */
    issuer: z.string().optional(),
    /** Required `aud`. */
    audience: z.string().optional(),
    /** Accepted algorithms. Default: what the key type allows. */
    algorithms: z.array(z.string()).optional(),
    /** Seconds of clock skew tolerated on exp/nbf. Default 5. */
    clockTolerance: z.number().nonnegative().default(5),
    /** Query parameter that may carry the token (browsers cannot set headers on WebSocket upgrades). Default `token`. */
    queryParam: z.string().min(1).default('token'),
  })
  .refine((o) => [o.secret, o.publicKey, o.jwksUrl].filter((v) => v !== undefined).length === 1, 'give exactly one of secret, publicKey or jwksUrl');

/** Options of jwtAuth (see JwtAuthOptionsSchema). */
export type JwtAuthOptions = z.input<typeof JwtAuthOptionsSchema>;

/**
 * The token of an upgrade request: `Authorization: Bearer …`, else the query parameter.
 *
 * @example
 * ```ts
 * const ws = await startWsServer({ authenticate: (req) => (tokenOf(req) === process.env.API_KEY ? { subject: 'svc', claims: {} } : null) });
 * ```
 */
export function tokenOf(request: IncomingMessage, queryParam = 'token'): string | undefined {
  const h = request.headers.authorization;
  if (typeof h === 'string' && h.startsWith('Bearer ')) return h.slice(7).trim();
  try {
    return new URL(request.url ?? '/', 'http://localhost').searchParams.get(queryParam) ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * An authenticate hook that verifies a JWT with jose (signature, `exp`,
 * `nbf`, and `iss` / `aud` when given). A missing or bad token rejects the
 * upgrade with HTTP 401. The principal's `expiresAt` comes from `exp`: the
 * connection is closed with TOKEN_EXPIRED (4001) then.
 *
 * @example
 * ```ts
 * const ws = await startWsServer({ port: 8080, authenticate: jwtAuth({ secret: process.env.JWT_SECRET!, audience: 'dashboard' }) });
 * ```
 */
export function jwtAuth(options: JwtAuthOptions): AuthenticateHook {
  const parsed = JwtAuthOptionsSchema.safeParse(options);
  if (!parsed.success) throw new TickflowError('INVALID_ARGUMENT', `invalid jwtAuth options: ${formatIssues(parsed.error)}`, { cause: parsed.error });
  const o = parsed.data;
  const verifyOptions: JWTVerifyOptions = { clockTolerance: o.clockTolerance };
  if (o.issuer !== undefined) verifyOptions.issuer = o.issuer;
  if (o.audience !== undefined) verifyOptions.audience = o.audience;
  if (o.algorithms !== undefined) verifyOptions.algorithms = o.algorithms;
  let verify: (token: string) => Promise<JWTPayload>;
  if (o.jwksUrl !== undefined) {
    const jwks = createRemoteJWKSet(new URL(o.jwksUrl));
    verify = async (token) => (await jwtVerify(token, jwks, verifyOptions)).payload;
  } else if (o.secret !== undefined) {
    const hmacKey = hmacKeys(typeof o.secret === 'string' ? new TextEncoder().encode(o.secret) : o.secret);
    verify = async (token) => (await jwtVerify(token, hmacKey, verifyOptions)).payload;
  } else {
    const key = o.publicKey!;
    verify = async (token) => (await jwtVerify(token, key, verifyOptions)).payload;
  }
  return async (request): Promise<Principal | null> => {
    const token = tokenOf(request, o.queryParam);
    if (token === undefined || token.length === 0 || token.length > 8_192) return null;
    try {
      const payload = await verify(token);
      return { subject: payload.sub ?? '', claims: payload, expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : undefined };
    } catch {
      return null;
    }
  };
}

const HMAC_HASH: Readonly<Record<string, string>> = { HS256: 'SHA-256', HS384: 'SHA-384', HS512: 'SHA-512' };

/**
 * The key of a shared secret for each HS algorithm, imported once: handed raw
 * bytes, jose imports a WebCrypto key on every verify, which made it about
 * twice the CPU per upgrade (see benchmarks/README.md, "fanout"). A token
 * with any other `alg` is refused, as jose refuses it for raw bytes.
 */
function hmacKeys(secret: Uint8Array): (header: JWTHeaderParameters) => Promise<CryptoKey> {
  const keys = new Map<string, Promise<CryptoKey>>();
  return (header) => {
    const hash = HMAC_HASH[header.alg];
    if (hash === undefined) return Promise.reject(new TickflowError('INVALID_ARGUMENT', `a shared secret verifies HS256/384/512 tokens, not ${header.alg}`));
    let key = keys.get(header.alg);
    if (key === undefined) {
      key = webcrypto.subtle.importKey('raw', secret, { name: 'HMAC', hash }, false, ['verify']) as Promise<CryptoKey>;
      keys.set(header.alg, key);
    }
    return key;
  };
}
