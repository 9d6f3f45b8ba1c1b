import { z } from 'zod';

/** A paper order as placed by a client. */
export const OrderInputSchema = z
  .object({
    symbol: z.string().min(1).max(32),
    side: z.enum(['buy', 'sell']),
    type: z.enum(['market', 'limit']),
    quantity: z.number().int('must be a whole number of shares').positive().max(1e9),
    limitPrice: z.number().min(1e-6).max(1e12).optional(),
  })
  .strict()
  .refine((o) => (o.type === 'limit') === (o.limitPrice !== undefined), {
    message: 'limitPrice is required for limit orders and not allowed for market orders',
    path: ['limitPrice'],
  });

/** A paper order as placed by a client. */
export type OrderInput = z.infer<typeof OrderInputSchema>;

/** An order and what happened to it. */
export interface Order extends OrderInput {
  readonly id: string;
  readonly user: string;
  readonly createdAt: number;
  status: 'open' | 'filled' | 'rejected' | 'cancelled';
  fillPrice?: number;
  filledAt?: number;
  reason?: string;
}

/** A refused order: the status code and message the API answers with. */
export class OrderRejected extends Error {
  constructor(readonly status: 400 | 404 | 409, message: string) {
    super(message);
  }
}
