import type { IncomingMessage } from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { UnsecuredJWT, createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import type { CryptoKey, JWTPayload, JWTVerifyOptions, KeyObject } from 'jose';
import { z } from 'zod';
import { TickflowError, formatIssues } from '@tickflow/core';
import type { AuthenticateHook, Principal } from './wsServerOptions.js';

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
 * An authenticate hook that verifies a JWT (signature, `exp`, `nbf`, and
 * `iss` / `aud` when given): claims by jose; HS signatures with node:crypto,
 * synchronously (see hmacVerifier), the others by jose. A missing or bad token rejects the
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
  let verify: (token: string) => JWTPayload | Promise<JWTPayload>;
  if (o.jwksUrl !== undefined) {
    const jwks = createRemoteJWKSet(new URL(o.jwksUrl));
    verify = async (token) => (await jwtVerify(token, jwks, verifyOptions)).payload;
  } else if (o.secret !== undefined) {
    verify = hmacVerifier(typeof o.secret === 'string' ? new TextEncoder().encode(o.secret) : o.secret, verifyOptions);
  } else {
    const key = o.publicKey!;
    verify = async (token) => (await jwtVerify(token, key, verifyOptions)).payload;
  }
  const principal = (payload: JWTPayload): Principal => ({ subject: payload.sub ?? '', claims: payload, expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : undefined });
  return (request) => {
    const token = tokenOf(request, o.queryParam);
    if (token === undefined || token.length === 0 || token.length > 8_192) return null;
    try {
      const payload = verify(token);
      return payload instanceof Promise ? payload.then(principal, () => null) : principal(payload);
    } catch {
      return null;
    }
  };
}

const HMAC_HASH: Readonly<Record<string, string>> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };
const NONE_HEADER = Buffer.from('{"alg":"none"}').toString('base64url');

/**
 * Verifies HS256/384/512 tokens synchronously: the signature with
 * node:crypto, then the claims (exp, nbf, iss, aud, clock tolerance) by jose
 * itself, over the same payload. jose's jwtVerify computes the HMAC through
 * WebCrypto, whose per-call job cost was about half the CPU of an upgrade
 * (profile in benchmarks/README.md, "fanout"). Tokens with another `alg`,
 * outside `algorithms`, or with JWS extensions (`crit`, `b64`) are refused.
 */
function hmacVerifier(secret: Uint8Array, options: JWTVerifyOptions): (token: string) => JWTPayload {
  return (token) => {
    const parts = token.split('.');
    if (parts.length !== 3) throw new TickflowError('INVALID_ARGUMENT', 'not a signed JWT');
    const header = decodeProtectedHeader(token);
    const alg = typeof header.alg === 'string' ? header.alg : '';
    const hash = HMAC_HASH[alg];
    if (hash === undefined || (options.algorithms !== undefined && !options.algorithms.includes(alg))) {
      throw new TickflowError('INVALID_ARGUMENT', `a shared secret verifies HS256/384/512 tokens, not ${alg}`);
    }
    if (header.crit !== undefined || header.b64 !== undefined) throw new TickflowError('INVALID_ARGUMENT', 'JWS extensions are not accepted');
    const mac = createHmac(hash, secret).update(`${parts[0]}.${parts[1]}`).digest();
    const sig = Buffer.from(parts[2]!, 'base64url');
    if (sig.length !== mac.length || !timingSafeEqual(sig, mac)) throw new TickflowError('INVALID_ARGUMENT', 'bad signature');
    return UnsecuredJWT.decode(`${NONE_HEADER}.${parts[1]}.`, options).payload;
  };
}
