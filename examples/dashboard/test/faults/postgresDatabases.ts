// The fault tests' PostgreSQL helpers: one database per run, and a cheap
// fingerprint of the store's tables to tell when writing has stopped.
import postgres from 'postgres';

export async function createDatabases(url: string, names: readonly string[]): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    for (const n of names) await sql.unsafe(`CREATE DATABASE ${n}`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/** A cheap fingerprint of the PostgreSQL store's window tables (changes whenever a row is written). */
export async function pgFingerprint(url: string, schema = 'public'): Promise<string> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    const rows = await sql.unsafe(`SELECT (SELECT count(*) || '/' || coalesce(max(written_at)::text, '') FROM "${schema}".ohlc) AS o, (SELECT count(*) FROM "${schema}".trades) AS t, (SELECT coalesce(max(written_at)::text, '') FROM "${schema}".volume_profiles) AS p, (SELECT coalesce(max(written_at)::text, '') FROM "${schema}".tick_counts) AS k`);
    return JSON.stringify(rows[0]);
  } finally {
    await sql.end({ timeout: 2 });
  }
}
