import { z } from 'zod';

const ChannelNameSchema = z.string().min(1).max(128);
const IdSchema = z.number().int().optional();
const StreamPositionSchema = z.object({ epoch: z.string().max(64), offset: z.number().int().nonnegative() });

/** Validates a decoded client message (docs/protocol.md, "Client → server"). */
export const ClientMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('subscribe'),
    channels: z.array(ChannelNameSchema).min(1).max(1_000),
    recover: z.record(ChannelNameSchema, StreamPositionSchema).optional(),
    id: IdSchema,
  }),
  z.object({ type: z.literal('unsubscribe'), channels: z.array(ChannelNameSchema).min(1).max(1_000), id: IdSchema }),
  z.object({ type: z.literal('resync'), channel: ChannelNameSchema, recover: StreamPositionSchema.optional(), id: IdSchema }),
  z.object({ type: z.literal('ping'), id: IdSchema, ts: z.number().optional() }),
]);
