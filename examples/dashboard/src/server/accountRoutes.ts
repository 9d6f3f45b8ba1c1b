import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { hasRole } from './auth.js';
import { z } from 'zod';
import { HttpError, parseOr400 } from './httpErrors.js';
import { OrderInputSchema, OrderRejected } from './paperBroker.js';
import type { RouteContext } from './routeContext.js';
import { requireRole, userOf } from './routeContext.js';
import { doc } from './marketRoutes.js';

export const LoginBody = z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(256) }).strict();
export const RefreshBody = z.object({ refreshToken: z.string().min(1).max(8192) }).strict();
const bearer = [{ bearerAuth: [] }];
/** Subjects of guest tokens: `guest-` and 8 random hex digits. */
export const GUEST_SUBJECT = /^guest-[0-9a-f]{8}$/;

function sameText(a: string, b: string): boolean {
  const h = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(h(a), h(b));
}

/** Waits until the audit journal holds what was appended (an acknowledged order is durable); 503 when it cannot be written. */
async function durable(ctx: RouteContext): Promise<void> {
  try {
    await ctx.audit.flush();
  } catch (e) {
    throw new HttpError(503, `the audit trail cannot be written (${e instanceof Error ? e.message : String(e)}): the order is not confirmed`);
  }
}

/** Auth (login, guest, refresh), paper orders, portfolio and the audit trail. */
export function accountRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.post('/api/auth/login', { schema: { summary: 'Sign in as a demo user: access + refresh JWT', tags: ['auth'], body: doc(LoginBody) } }, async (req) => {
    const body = parseOr400(LoginBody, req.body, 'body');
    const wait = ctx.loginThrottle.wait(body.username, req.ip);
    if (wait > 0) throw new HttpError(429, `too many failed sign-ins from this address: retry after ${wait} s`, { 'retry-after': String(wait) });
    const user = ctx.users.find((u) => u.username === body.username);
    const ok = user !== undefined && sameText(user.password, body.password);
    if (!ok) {
      ctx.loginThrottle.failed(body.username, req.ip);
      ctx.audit.append({ ts: Date.now(), type: 'login_failed', user: body.username, ip: req.ip });
      throw new HttpError(401, 'wrong username or password');
    }
    const session = await ctx.sessions.create(user.username, user.role, req.ip);
    ctx.audit.append({ ts: Date.now(), type: 'login', user: user.username, role: user.role, ip: req.ip, session: session.sid.slice(0, 8) });
    return ctx.tokens.issue(user, session);
  });

  app.post('/api/auth/guest', { schema: { summary: 'Anonymous read-only access: a viewer token pair for a new guest (when guest access is on)', tags: ['auth'] } }, async (req) => {
    if (!ctx.config.guestAccess) throw new HttpError(403, 'guest access is turned off on this server (TICKFLOW_GUEST_ACCESS=false): sign in with POST /api/auth/login');
    const wait = ctx.guestLimiter.take(req.ip);
    if (wait > 0) throw new HttpError(429, `too many guest tokens for this address (${ctx.config.guestRate} per minute): retry after ${wait} s`, { 'retry-after': String(wait) });
    const user = { username: `guest-${randomBytes(4).toString('hex')}`, role: 'viewer' as const };
    const session = await ctx.sessions.create(user.username, user.role, req.ip);
    ctx.audit.append({ ts: Date.now(), type: 'guest_login', user: user.username, ip: req.ip });
    return ctx.tokens.issue(user, session);
  });

  app.post('/api/auth/refresh', { schema: { summary: 'Exchange a refresh token for a new token pair', tags: ['auth'], body: doc(RefreshBody) } }, async (req) => {
    const body = parseOr400(RefreshBody, req.body, 'body');
    const user = await ctx.tokens.verify(body.refreshToken, 'refresh');
    if (user === undefined) throw new HttpError(401, 'invalid or expired refresh token: sign in again with POST /api/auth/login');
    // A refresh token works once: the session moves to the next generation, and an older token is reuse (stolen?): the session ends.
    const rotated = await ctx.sessions.rotate(user.sid!, user.gen!);
    if (!rotated.ok) {
      if (rotated.why === 'reuse') {
        ctx.audit.append({ ts: Date.now(), type: 'refresh_reuse', user: user.username, ip: req.ip, session: user.sid!.slice(0, 8) });
        throw new HttpError(401, 'this refresh token was already used: the session is ended for safety; sign in again with POST /api/auth/login');
      }
      if (rotated.why === 'unavailable') throw new HttpError(503, 'the session store (Redis) is unavailable: retry shortly', { 'retry-after': '1' });
      throw new HttpError(401, 'the session has ended (logged out, revoked or idle for too long): sign in again with POST /api/auth/login');
    }
    // Guests stay viewers while guest access is on.
    if (GUEST_SUBJECT.test(user.username) && user.role === 'viewer' && !ctx.users.some((u) => u.username === user.username)) {
      if (!ctx.config.guestAccess) throw new HttpError(401, 'guest access is turned off on this server: sign in with POST /api/auth/login');
      return ctx.tokens.issue(user, rotated.session);
    }
    // The role comes from the current configuration, not the old token.
    const current = ctx.users.find((u) => u.username === user.username);
    if (current === undefined) {
      await ctx.sessions.revoke(user.sid!);
      throw new HttpError(401, `user "${user.username}" no longer exists`);
    }
    return ctx.tokens.issue(current, rotated.session);
  });

  const signedIn = requireRole(ctx, 'viewer');
  app.post('/api/auth/logout', { preHandler: signedIn, schema: { summary: "End the caller's session: its refresh token stops working, its WebSockets close", tags: ['auth'], security: bearer } }, async (req, reply) => {
    const user = userOf(req);
    await ctx.sessions.revoke(user.sid!);
    ctx.audit.append({ ts: Date.now(), type: 'logout', user: user.username, ip: req.ip });
    return reply.status(204).send();
  });

  app.get('/api/auth/sessions', { preHandler: signedIn, schema: { summary: "The caller's sessions (sign-ins), most recently used first", tags: ['auth'], security: bearer } }, async (req) => {
    const user = userOf(req);
    const list = await ctx.sessions.list(user.username);
    return { sessions: list.map((s) => ({ id: s.sid, createdAt: s.createdAt, lastUsed: s.lastUsed, ip: s.ip, current: s.sid === user.sid })) };
  });

  const revokeOne = async (req: FastifyRequest, id: string): Promise<boolean> => {
    const user = userOf(req);
    const s = await ctx.sessions.get(id);
    // Admins may end anyone's session; others only their own.
    if (s === undefined || (s.user !== user.username && !hasRole(user.role, 'admin'))) return false;
    await ctx.sessions.revoke(id);
    ctx.audit.append({ ts: Date.now(), type: 'session_revoked', user: user.username, of: s.user, session: id.slice(0, 8), ip: req.ip });
    return true;
  };

  const SessionParams = z.object({ id: z.string().min(1).max(64) });
  app.delete('/api/auth/sessions/:id', { preHandler: signedIn, schema: { summary: 'End one session (yours; admins: anyone\'s): its refresh token stops working, its WebSockets close within seconds', tags: ['auth'], security: bearer, params: doc(SessionParams) } }, async (req, reply) => {
    const { id } = parseOr400(SessionParams, req.params, 'path');
    if (!(await revokeOne(req, id))) throw new HttpError(404, 'no such session of yours: GET /api/auth/sessions lists them');
    return reply.status(204).send();
  });

  app.delete('/api/auth/sessions', { preHandler: signedIn, schema: { summary: "End every session of the caller (this one too)", tags: ['auth'], security: bearer } }, async (req) => {
    const user = userOf(req);
    let ended = 0;
    for (const s of await ctx.sessions.list(user.username)) if (await revokeOne(req, s.sid)) ended++;
    return { ended };
  });

  const trader = requireRole(ctx, 'trader');
  app.post('/api/orders', { preHandler: trader, schema: { summary: 'Place a paper order (market or limit)', tags: ['trading'], security: bearer, body: doc(OrderInputSchema) } }, async (req, reply) => {
    const input = parseOr400(OrderInputSchema, req.body, 'order');
    try {
      const order = ctx.broker.place(userOf(req).username, input);
      await durable(ctx);
      return reply.status(201).send(order);
    } catch (e) {
      if (e instanceof OrderRejected) throw new HttpError(e.status, e.message);
      throw e;
    }
  });

  const OrderParams = z.object({ id: z.string().min(1).max(32) });
  app.delete('/api/orders/:id', { preHandler: trader, schema: { summary: 'Cancel a resting limit order of the signed-in user (releases the cash or shares it held; audited as order_cancelled). 404: no such order of yours; 409: already filled, rejected or cancelled', tags: ['trading'], security: bearer, params: doc(OrderParams) } }, async (req) => {
    const { id } = parseOr400(OrderParams, req.params, 'path');
    try {
      const order = ctx.broker.cancel(userOf(req).username, id);
      await durable(ctx);
      return order;
    } catch (e) {
      if (e instanceof OrderRejected) throw new HttpError(e.status, e.message);
      throw e;
    }
  });

  app.get('/api/orders', { preHandler: trader, schema: { summary: "The signed-in user's orders, newest first", tags: ['trading'], security: bearer } }, async (req) => ({
    orders: ctx.broker.orders(userOf(req).username),
  }));

  app.get('/api/portfolio', { preHandler: trader, schema: { summary: 'Positions, average cost, realised/unrealised P&L, return, max drawdown, volatility', tags: ['trading'], security: bearer } }, async (req) =>
    ctx.broker.portfolio(userOf(req).username),
  );

  const AuditQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) });
  app.get('/api/audit', { preHandler: requireRole(ctx, 'admin'), schema: { summary: 'The newest audit entries (admin): from PostgreSQL when configured (x-data-source: postgres), else or while it is down the in-memory tail (x-data-source: memory, x-audit-fallback says why)', tags: ['admin'], security: bearer, querystring: doc(AuditQuery) } }, async (req, reply) => {
    const { limit } = parseOr400(AuditQuery, req.query, 'query');
    const page = await ctx.audit.read(limit);
    void reply.header('x-data-source', page.source);
    if (page.degraded !== undefined) void reply.header('x-audit-fallback', 'postgres-unavailable');
    return { store: ctx.audit.store, path: ctx.audit.path, source: page.source, ...(page.degraded === undefined ? {} : { degraded: page.degraded }), entries: page.entries };
  });
}
