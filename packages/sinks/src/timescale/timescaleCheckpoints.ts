import { TickflowError, describeError } from '@tickflow/core';
import type { CheckpointStore } from '@tickflow/core/kafka';
import type postgres from 'postgres';

/**
 * `kafkaConsumer` checkpoints in PostgreSQL: table `tickflow_checkpoints` of
 * the store's schema, one row per (group, topic, partition) with the offset
 * and the serialized window state. Shared by every process of a consumer
 * group, so a partition's state follows it to whichever process the group
 * assigns it. A save writes all its rows in one transaction.
 */
export function timescaleCheckpoints(sql: postgres.Sql<Record<string, never>>, schema: string): CheckpointStore {
  const table = `${schema}.tickflow_checkpoints`;
  let ready: Promise<void> | undefined;
  const ensure = (): Promise<void> =>
    (ready ??= (async () => {
      await sql.unsafe(`CREATE TABLE IF NOT EXISTS ${table} (
        group_id text NOT NULL, topic text NOT NULL, partition int NOT NULL, "offset" bigint NOT NULL,
        data bytea NOT NULL, written_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (group_id, topic, partition))`);
    })().catch((e: unknown) => {
      ready = undefined;
      throw e;
    }));
  const failed = (what: string, e: unknown): TickflowError => new TickflowError('CHECKPOINT_FAILED', `postgres checkpoints (${table}): ${what} failed: ${describeError(e)}`, { cause: e });
  return {
    describe: `postgres ${table}`,
    async load(scope, partitions) {
      const out = new Map<number, { offset: number; data: Uint8Array }>();
      if (partitions.length === 0) return out;
      try {
        await ensure();
        const rows = await sql.unsafe<{ partition: number; offset: string; data: Buffer }[]>(
          `SELECT partition, "offset"::text AS "offset", data FROM ${table} WHERE group_id = $1 AND topic = $2 AND partition = ANY($3::int[])`,
          [scope.groupId, scope.topic, [...partitions]],
        );
        for (const r of rows) out.set(r.partition, { offset: Number(r.offset), data: new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.length) });
        return out;
      } catch (e) {
        throw failed(`loading ${scope.topic} partitions ${partitions.join(',')} of group ${scope.groupId}`, e);
      }
    },
    async save(scope, checkpoints) {
      if (checkpoints.length === 0) return;
      try {
        await ensure();
        await sql.begin((tx) =>
          checkpoints.map((c) =>
            c.data === null
              ? tx.unsafe(`DELETE FROM ${table} WHERE group_id = $1 AND topic = $2 AND partition = $3`, [scope.groupId, scope.topic, c.partition])
              : tx.unsafe(
                  `INSERT INTO ${table} (group_id, topic, partition, "offset", data) VALUES ($1, $2, $3, $4::bigint, $5)
                   ON CONFLICT (group_id, topic, partition) DO UPDATE SET "offset" = excluded."offset", data = excluded.data, written_at = now()`,
                  [scope.groupId, scope.topic, c.partition, String(c.offset), Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength)],
                ),
          ),
        );
      } catch (e) {
        throw failed(`saving ${checkpoints.length} checkpoints of ${scope.topic} (group ${scope.groupId})`, e);
      }
    },
  };
}
