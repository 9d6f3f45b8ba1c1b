import type { Role, TokenPair } from './types.js';

/** A REST call that failed: the HTTP status (0 when the server was unreachable) and the server's message in words. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Who the page is signed in as. */
export interface Session {
  readonly username: string;
  readonly role: Role;
  readonly guest: boolean;
  readonly accessToken: string;
  readonly refreshToken: string;
  /** Epoch ms when the access token expires. */
  readonly expiresAt: number;
}

/** The `sub` claim of a JWT (the server's tokens carry the username there). */
function subjectOf(token: string): string {
  try {
    const payload = token.split('.')[1] ?? '';
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const sub = (JSON.parse(json) as { sub?: unknown }).sub;
    return typeof sub === 'string' ? sub : '?';
  } catch {
    return '?';
  }
}

async function errorOf(res: Response): Promise<ApiError> {
  let text = '';
  try {
    const body = (await res.json()) as { error?: unknown };
    text = typeof body.error === 'string' ? body.error : JSON.stringify(body);
  } catch {
    text = res.statusText;
  }
  if (res.status === 429) text = `too many requests, retry in ${res.headers.get('retry-after') ?? 'a few'} s (${text})`;
  return new ApiError(res.status, text || `HTTP ${res.status}`);
}

/**
 * The REST client of the page: keeps the session (guest or signed in), sends
 * the bearer token, refreshes it before it expires, and turns failures into
 * ApiErrors with the server's message.
 */
export class Api {
  private current: Session | undefined;
  private refreshing: Promise<Session> | undefined;
  /** Called whenever the session changes (sign in, sign out, guest). */
  onSession: (s: Session | undefined) => void = () => undefined;
  /** Called when a signed-in session was refused by the server (ended, or the server forgot it) and the page continues as a guest. */
  onSessionLost: (previous: Session) => void = () => undefined;

  constructor(private readonly base = '') {}

  get session(): Session | undefined {
    return this.current;
  }

  private setSession(pair: TokenPair, guest: boolean): Session {
    this.current = { username: subjectOf(pair.accessToken), role: pair.role, guest, accessToken: pair.accessToken, refreshToken: pair.refreshToken, expiresAt: Date.now() + pair.expiresIn * 1000 };
    this.onSession(this.current);
    return this.current;
  }

  private async send<T>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    let res: Response;
    try {
      res = await fetch(this.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      throw new ApiError(0, `the server is unreachable (${e instanceof Error ? e.message : String(e)})`);
    }
    if (!res.ok) throw await errorOf(res);
    return (await res.json()) as T;
  }

  /** Read-only guest session (POST /api/auth/guest). */
  async guest(): Promise<Session> {
    return this.setSession(await this.send<TokenPair>('POST', '/api/auth/guest'), true);
  }

  /** Signs in as a demo user (POST /api/auth/login). */
  async login(username: string, password: string): Promise<Session> {
    return this.setSession(await this.send<TokenPair>('POST', '/api/auth/login', { username, password }), false);
  }

  /** Drops the signed-in user and continues as a guest. */
  async logout(): Promise<Session> {
    this.current = undefined;
    return this.guest();
  }

  /** A valid access token: refreshed when it expires within 30 s, a new guest session when refreshing fails. */
  async token(): Promise<string> {
    const s = this.current;
    if (s !== undefined && s.expiresAt - Date.now() > 30_000) return s.accessToken;
    return (await this.renew()).accessToken;
  }

  /**
   * A new access token after the server refused the current one (the
   * WebSocket SDK's `reauthenticate`): the session is refreshed, or, when the
   * server no longer knows it, replaced by a guest session (onSessionLost
   * tells a signed-in user). Throws an ApiError while the server is unreachable.
   */
  async reauthenticate(): Promise<string> {
    if (this.current !== undefined) this.current = { ...this.current, expiresAt: 0 };
    return (await this.renew()).accessToken;
  }

  private renew(): Promise<Session> {
    this.refreshing ??= (async () => {
      try {
        const s = this.current;
        if (s !== undefined) {
          try {
            return this.setSession(await this.send<TokenPair>('POST', '/api/auth/refresh', { refreshToken: s.refreshToken }), s.guest);
          } catch (e) {
            if (!(e instanceof ApiError) || e.status !== 401) throw e;
          }
        }
        const guest = await this.guest();
        if (s !== undefined && !s.guest) this.onSessionLost(s);
        return guest;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  /** GET with the session's token; one retry with a renewed token after a 401. */
  async get<T>(path: string): Promise<T> {
    return this.authed<T>('GET', path);
  }

  /** POST a JSON body with the session's token. */
  async post<T>(path: string, body: unknown): Promise<T> {
    return this.authed<T>('POST', path, body);
  }

  private async authed<T>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      return await this.send<T>(method, path, body, await this.token());
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 401) throw e;
      this.current = this.current === undefined ? undefined : { ...this.current, expiresAt: 0 };
      return this.send<T>(method, path, body, await this.token());
    }
  }
}
