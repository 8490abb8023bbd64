/**
 * Durations in the admin API are given with a unit (`"expiresIn": "90d"`; units `s`, `m`, `h`,
 * `d`; docs/admin-api.md): the schema fixes the shape, `durationMs` turns it into milliseconds.
 */
import { Type, type TString } from '@sinclair/typebox';

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export function Duration(description: string): TString {
  return Type.String({ pattern: '^[1-9][0-9]{0,6}[smhd]$', examples: ['90d'], description });
}

export function durationMs(value: string): number {
  const unit = value[value.length - 1] as keyof typeof UNIT_MS;
  return Number(value.slice(0, -1)) * UNIT_MS[unit];
}
