import { randomUUID } from 'node:crypto';
import type { DeadLetter, Job, Output, TickCount, UserEvent, UserEventRecord, UserEventType } from '@tickflow/core';
import { InvalidEvent, USER_EVENT_TYPES, keyBy, normalizeUserEvent, pipeline } from '@tickflow/core';
import { tickCount, tumbling } from '@tickflow/windowing';
import { Ring } from './marketStore.js';

/** Most events in one POST /api/events. */
export const MAX_EVENTS_PER_REQUEST = 100;
/** Per-minute windows kept for GET /api/events/stats. */
export const STATS_MINUTES = 60;
/** Oldest client time accepted, behind the server's clock (a client clock that far off is wrong, or the event is stale). */
export const MAX_EVENT_AGE_MS = 7 * 86_400_000;
/** Latest client time accepted, ahead of the server's clock (a wrong client clock). */
export const MAX_EVENT_AHEAD_MS = 5 * 60_000;

/** Why one event of a batch was rejected. */
export interface RejectedUserEvent {
  /** Its index in the batch. */
  readonly index: number;
  readonly reason: string;
}

/** The outcome of validating a batch. */
export interface CheckedBatch {
  readonly records: UserEventRecord[];
  readonly rejected: RejectedUserEvent[];
  /** The rejected ones as dead letters (reason and the event as received). */
  readonly letters: DeadLetter[];
}

/**
 * Validates a batch from a client: each event against `UserEventSchema`,
 * its client time against the server's clock, then stamps it into a
 * `UserEventRecord` (its id, kept when the client sent one so a re-sent event
 * stays the same event; the receive time; the sender's user name).
 */
export function checkUserEvents(events: readonly unknown[], user: string, now = Date.now()): CheckedBatch {
  const records: UserEventRecord[] = [];
  const rejected: RejectedUserEvent[] = [];
  const letters: DeadLetter[] = [];
  for (let i = 0; i < events.length; i++) {
    const raw = events[i];
    const e = normalizeUserEvent(raw);
    const reason = e instanceof InvalidEvent ? e.reason : clockProblem(e.ts, now);
    if (reason !== undefined) {
      rejected.push({ index: i, reason });
      letters.push({ reason: `user event ${i}: ${reason}`, input: raw, origin: 'POST /api/events' });
    } else {
      const ok = e as UserEvent;
      records.push({ ...ok, id: ok.id ?? randomUUID(), receivedAt: now, user });
    }
  }
  return { records, rejected, letters };
}

/** Why a client time is outside the accepted range around the server's clock, or undefined. */
function clockProblem(ts: number, now: number): string | undefined {
  if (ts < now - MAX_EVENT_AGE_MS) return `ts: ${new Date(ts).toISOString()} is more than 7 days before the server's time (${new Date(now).toISOString()})`;
  if (ts > now + MAX_EVENT_AHEAD_MS) return `ts: ${new Date(ts).toISOString()} is more than 5 minutes after the server's time (${new Date(now).toISOString()}): is the client's clock wrong?`;
  return undefined;
}

/** Counts of one minute: per type, and the total. */
export interface MinuteCounts {
  readonly start: number;
  readonly end: number;
  readonly counts: Record<UserEventType, number>;
  readonly total: number;
}

const zeroCounts = (): Record<UserEventType, number> => Object.fromEntries(USER_EVENT_TYPES.map((t) => [t, 0])) as Record<UserEventType, number>;

/**
 * Holds what the per-minute window job emits (tick counts keyed by event
 * type): the newest `STATS_MINUTES` minutes. A window's count only grows
 * while it is open; a replay after a Kafka rebalance counts a window again
 * from its start, so the highest count seen is kept and only growth is
 * reported to `onGrowth` (the Prometheus counters), never a replay twice.
 */
export class UserEventCounts {
  private readonly minutes = new Map<number, { end: number; counts: Record<UserEventType, number> }>();
  late = 0;

  constructor(private readonly onGrowth: (type: UserEventType, n: number) => void = () => {}) {}

  /** Takes window results of the counting job. */
  record(batch: readonly TickCount[]): void {
    for (const w of batch) {
      const type = w.symbol as UserEventType;
      let m = this.minutes.get(w.start);
      if (m === undefined) {
        m = { end: w.end, counts: zeroCounts() };
        this.minutes.set(w.start, m);
        if (this.minutes.size > STATS_MINUTES) this.minutes.delete(Math.min(...this.minutes.keys()));
      }
      const held = m.counts[type] ?? 0;
      if (w.trades > held) {
        m.counts[type] = w.trades;
        this.onGrowth(type, w.trades - held);
      }
    }
  }

  /** The newest `n` minutes, oldest first, and their totals per type. */
  snapshot(n = STATS_MINUTES): { minutes: MinuteCounts[]; totals: Record<UserEventType, number>; total: number } {
    const starts = [...this.minutes.keys()].sort((a, b) => a - b).slice(-n);
    const totals = zeroCounts();
    let total = 0;
    const minutes = starts.map((start) => {
      const m = this.minutes.get(start)!;
      let sum = 0;
      for (const t of USER_EVENT_TYPES) {
        sum += m.counts[t];
        totals[t] += m.counts[t];
      }
      total += sum;
      return { start, end: m.end, counts: { ...m.counts }, total: sum };
    });
    return { minutes, totals, total };
  }
}

/** Event-time settings of the counting job: the server's receive time, on the wall clock in embedded mode. */
const EMIT = { mode: 'update', throttle: '250ms' } as const;

/**
 * The per-minute counting job of the library: events keyed by type, 1-minute
 * tumbling windows over the receive time, counted by `tickCount()` (a
 * window's "symbol" is the event type), updates emitted while a window is
 * open. `live` adds the wall-clock watermark (embedded mode); Kafka uses
 * event time only, so a replay is not late.
 */
export function userEventCountJob(counts: UserEventCounts, live: boolean): Job<UserEventRecord, TickCount> {
  const timing: { outOfOrderness: '1s'; wallClockLag?: '2s' } = live ? { outOfOrderness: '1s', wallClockLag: '2s' } : { outOfOrderness: '1s' };
  const late: Output<unknown> = {
    write: (b) => {
      counts.late += b.length;
    },
  };
  return pipeline<UserEventRecord>({ name: 'user-event-counts', ...timing, timestamp: (e) => e.receivedAt })
    .pipe(keyBy('type'), tumbling({ size: '1m', grace: '5s', emit: EMIT }, tickCount()))
    .late(late)
    .to({ write: (b: readonly TickCount[]) => counts.record(b) });
}

/** Options of `UserEvents`. */
export interface UserEventsOptions {
  /** Events kept in the in-process ring. */
  readonly ringSize: number;
  /** Called when a window count grows (Prometheus counter per type). */
  readonly onCount?: (type: UserEventType, n: number) => void;
  /** Called with each dead letter (metrics, logs). */
  readonly onDeadLetter?: (letter: DeadLetter) => void;
}

/**
 * The user events of the reference server: the in-process ring of the
 * newest events, the per-minute counts and the recent dead letters. In
 * embedded mode POST /api/events hands valid events to `take` directly; in
 * full mode the Kafka consumer of the events topic does (userEventsKafka.ts).
 */
export class UserEvents {
  readonly ring: Ring<UserEventRecord>;
  readonly counts: UserEventCounts;
  readonly recentDeadLetters: Ring<{ at: number; reason: string; origin: string }>;
  deadLetters = 0;
  private job: Job<UserEventRecord, TickCount> | undefined;
  private store: { enqueue(batch: readonly UserEventRecord[]): void | Promise<void> } | undefined;
  private readonly ticker: ReturnType<typeof setInterval>;

  constructor(private readonly o: UserEventsOptions) {
    this.ring = new Ring(o.ringSize);
    this.counts = new UserEventCounts(o.onCount);
    this.recentDeadLetters = new Ring(20);
    this.ticker = setInterval(() => this.job?.tick(), 100);
    this.ticker.unref();
  }

  /** Embedded mode: counts with the wall-clock job of this process. */
  startLocalCounting(): void {
    this.job = userEventCountJob(this.counts, true);
  }

  /** Full mode: the Kafka consumer's current counting job (rebuilt at each assignment), ticked for throttled updates. */
  useJob(job: Job<UserEventRecord, TickCount>): void {
    this.job = job;
  }

  /** Without Kafka: valid events also go to this store (ClickHouse `user_events`). */
  storeTo(store: Output<UserEventRecord> & { enqueue(batch: readonly UserEventRecord[]): void | Promise<void> }): void {
    this.store = store;
  }

  /**
   * Stores valid events (the ring, and the store of `storeTo`) and, unless
   * the Kafka consumer counts them (`count` false), counts them. A returned
   * promise is the store's backpressure: wait for it.
   */
  take(records: readonly UserEventRecord[], count = true): void | Promise<void> {
    if (records.length === 0) return undefined;
    for (const r of records) this.ring.push(r);
    if (count && this.job !== undefined) this.job.pushBatch(records);
    return this.store?.enqueue(records);
  }

  /** The dead-letter output of user events: counted, the newest 20 kept with their reasons. */
  readonly deadLetterOutput: Output<DeadLetter> = {
    write: (batch) => {
      const now = Date.now();
      for (const l of batch) {
        this.deadLetters++;
        this.recentDeadLetters.push({ at: now, reason: l.reason, origin: l.origin });
        this.o.onDeadLetter?.(l);
      }
    },
  };

  /** The newest `n` stored events, newest first. */
  recent(n: number): UserEventRecord[] {
    const out: UserEventRecord[] = [];
    for (let i = this.ring.size - 1; i >= 0 && out.length < n; i--) out.push(this.ring.at(i));
    return out;
  }

  /** Stops the wall-clock ticks and delivers the counting job's pending updates. */
  async close(): Promise<void> {
    clearInterval(this.ticker);
    await this.job?.flush().catch(() => undefined);
  }
}
