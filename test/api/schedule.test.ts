/** Send times: RFC 3339 with an offset, or a wall-clock time in an IANA zone, stored in UTC. */
import { describe, expect, it } from 'vitest';
import { formatInZone, resolveSendAt } from '../../core/campaigns/schedule.ts';
import { ValidationError } from '../../core/errors.ts';

describe('resolveSendAt', () => {
  it('takes an RFC 3339 time with its offset as is', () => {
    expect(resolveSendAt('2026-12-01T09:00:00+09:00', undefined).toISOString()).toBe(
      '2026-12-01T00:00:00.000Z',
    );
    expect(resolveSendAt('2026-12-01T09:00:00Z', 'Asia/Seoul').toISOString()).toBe(
      '2026-12-01T09:00:00.000Z',
    );
  });

  it('resolves a local date-time in a zone, in and out of daylight saving', () => {
    expect(resolveSendAt('2026-01-15T09:00', 'Europe/Paris').toISOString()).toBe('2026-01-15T08:00:00.000Z');
    expect(resolveSendAt('2026-07-15 09:00', 'Europe/Paris').toISOString()).toBe('2026-07-15T07:00:00.000Z');
    expect(resolveSendAt('2026-07-15T09:30:15', 'America/New_York').toISOString()).toBe(
      '2026-07-15T13:30:15.000Z',
    );
    expect(resolveSendAt('2026-07-15T09:00', 'Asia/Kolkata').toISOString()).toBe('2026-07-15T03:30:00.000Z');
  });

  it('refuses a time the clocks skip, naming the problem', () => {
    // 2026-03-29 02:30 does not exist in Paris: clocks go from 02:00 to 03:00.
    expect(() => resolveSendAt('2026-03-29T02:30', 'Europe/Paris')).toThrow(
      /does not exist in Europe\/Paris/,
    );
  });

  it('takes the earlier of two instants when the clocks repeat an hour', () => {
    // 2026-11-01 01:30 happens twice in New York: first at -04:00, then at -05:00.
    const at = resolveSendAt('2026-11-01T01:30', 'America/New_York');
    expect(at.toISOString()).toBe('2026-11-01T05:30:00.000Z');
    expect(formatInZone(at, 'America/New_York')).toBe('2026-11-01T01:30:00-04:00');
  });

  it('refuses a local time without a zone, an unknown zone, and dates that do not exist', () => {
    for (const [at, zone] of [
      ['2026-01-15T09:00', undefined],
      ['2026-01-15T09:00', 'Mars/Olympus'],
      ['2026-02-30T09:00', 'UTC'],
      ['tomorrow at nine', 'UTC'],
      ['2026-01-15T25:00', 'UTC'],
    ] as const) {
      expect(() => resolveSendAt(at, zone), `${at} ${zone}`).toThrow(ValidationError);
    }
  });
});

describe('formatInZone', () => {
  it('shows an instant in a zone with its offset', () => {
    expect(formatInZone('2026-12-01T00:00:00Z', 'Asia/Seoul')).toBe('2026-12-01T09:00:00+09:00');
    expect(formatInZone('2026-12-01T00:00:00Z', 'America/Los_Angeles')).toBe('2026-11-30T16:00:00-08:00');
    expect(formatInZone('2026-12-01T00:00:00Z', 'Asia/Kathmandu')).toBe('2026-12-01T05:45:00+05:45');
    expect(formatInZone('2026-12-01T00:00:00Z', 'UTC')).toBe('2026-12-01T00:00:00+00:00');
  });
});
