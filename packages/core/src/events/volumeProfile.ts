import { z } from 'zod';
import { WindowFields } from './window.js';

/** Volume traded at one price level of a profile. */
export const VolumeLevelSchema = z.object({
  price: z.number().describe('lower edge of the level: floor(price / bucket) × bucket'),
  volume: z.number().nonnegative(),
  buyVolume: z.number().nonnegative(),
  sellVolume: z.number().nonnegative(),
});

/** One level of a volume profile. */
export type VolumeLevel = z.infer<typeof VolumeLevelSchema>;

/** A volume profile for one symbol and window: volume per price level, point of control and 70% value area. */
export const VolumeProfileSchema = z.object({
  ...WindowFields,
  bucket: z.number().positive().describe('price step of the levels'),
  levels: z.array(VolumeLevelSchema).describe('levels with volume, ascending by price'),
  volume: z.number().nonnegative(),
  poc: z.number().describe('price level with the most volume (ties: lowest price)'),
  valueAreaLow: z.number().describe('lowest level of the value area'),
  valueAreaHigh: z.number().describe('highest level of the value area'),
  valueAreaVolume: z.number().nonnegative(),
});

/** A volume profile (see VolumeProfileSchema). */
export type VolumeProfile = z.infer<typeof VolumeProfileSchema>;
