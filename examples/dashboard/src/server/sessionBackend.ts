import type { Role } from './auth.js';

/** A sign-in: what a refresh token belongs to. */
export interface Session {
  readonly sid: string;
  readonly user: string;
  readonly role: Role;
  /** Rotation generation: the refresh token carrying this value is the only one that works. */
  readonly gen: number;
  readonly createdAt: number;
  readonly lastUsed: number;
  readonly ip: string;
}

/** What a refresh did: rotated (the new generation), reuse of an old refresh token (the session is revoked), or no such session. */
export type RotateResult = { readonly ok: true; readonly session: Session } | { readonly ok: false; readonly why: 'reuse' | 'gone' | 'unavailable' };

/** Where sessions are kept: process memory (memorySessions.ts) or Redis (redisSessions.ts). */
export interface SessionBackend {
  put(s: Session, ttlS: number): Promise<void>;
  get(sid: string): Promise<Session | undefined>;
  rotate(sid: string, gen: number, now: number, ttlS: number): Promise<RotateResult>;
  delete(sid: string): Promise<Session | undefined>;
  list(user: string): Promise<Session[]>;
  close(): Promise<void>;
}
