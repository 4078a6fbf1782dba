/**
 * Send times are stored in UTC and shown back in the zone the user thinks in. A user may give either an
 * RFC 3339 time with an offset, or a wall-clock date-time plus an IANA zone; the second is resolved here,
 * refusing times that do not exist in that zone (skipped by a daylight-saving change) and resolving
 * ambiguous ones (repeated by a change) to the earlier of the two, which the answer shows with its offset.
 */
import { ValidationError } from '../errors.ts';

const LOCAL_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/;
const HAS_OFFSET = /(Z|[+-]\d{2}:\d{2})$/i;
/** The date and time fields of an RFC 3339 time (seconds optional), to check they exist as written. */
const DATE_TIME_PARTS = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?/i;

function realDateTime(parts: RegExpExecArray): boolean {
  const [y, mo, d, h, mi, sec] = parts.slice(1).map((p) => (p === undefined ? 0 : Number(p))) as number[];
  const check = new Date(Date.UTC(y as number, (mo as number) - 1, d as number));
  return (
    check.getUTCMonth() === (mo as number) - 1 &&
    check.getUTCDate() === d &&
    (h as number) <= 23 &&
    (mi as number) <= 59 &&
    (sec as number) <= 59
  );
}

export function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The wall-clock time in `zone` at instant `ms`, expressed as if it were UTC milliseconds. */
function wallClock(ms: number, zone: string): number {
  const parts = Object.fromEntries(
    formatter(zone)
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  return Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
}

/** Offset of `zone` from UTC at instant `ms`, in minutes. */
export function offsetMinutes(ms: number, zone: string): number {
  const whole = Math.floor(ms / 1000) * 1000;
  return Math.round((wallClock(whole, zone) - whole) / 60_000);
}

function assertZone(zone: string, path: string) {
  if (!isValidTimeZone(zone)) {
    throw new ValidationError(`"${zone}" is not an IANA time zone (for example Europe/Paris, Asia/Seoul).`, {
      details: [{ path, problem: 'unknown time zone' }],
    });
  }
}

/**
 * Resolves a send time to a UTC instant. `at` is RFC 3339 with an offset (the zone, if given, is only used
 * to show it back), or a local date-time (`2026-12-01T09:00`) that needs `timeZone`.
 */
export function resolveSendAt(at: string, timeZone: string | undefined): Date {
  if (timeZone !== undefined) assertZone(timeZone, 'timeZone');
  if (HAS_OFFSET.test(at)) {
    const ms = Date.parse(at);
    // Date.parse rolls impossible dates over (2026-02-30 is read as March 2, 24:00 as the next day):
    // the date and time written must be the ones meant, as RFC 3339 requires.
    const parts = DATE_TIME_PARTS.exec(at);
    if (parts && !realDateTime(parts)) {
      throw new ValidationError(`"${at}" is not a real date and time.`, {
        details: [{ path: 'sendAt', problem: 'no such date or time' }],
      });
    }
    if (Number.isNaN(ms)) {
      throw new ValidationError(`"${at}" is not a valid time.`, {
        details: [{ path: 'sendAt', problem: 'not a valid RFC 3339 time' }],
      });
    }
    return new Date(ms);
  }
  const match = LOCAL_DATE_TIME.exec(at);
  if (!match) {
    throw new ValidationError(
      `"${at}" is not a time sixback understands: give 2026-12-01T09:00:00+09:00, or 2026-12-01T09:00 with a timeZone.`,
      { details: [{ path: 'sendAt', problem: 'not RFC 3339 nor a local date-time' }] },
    );
  }
  if (timeZone === undefined) {
    throw new ValidationError(
      `"${at}" has no offset: say which zone it is in (timeZone, e.g. "Europe/Paris"), or add an offset.`,
      { details: [{ path: 'timeZone', problem: 'required for a local date-time' }] },
    );
  }
  const [, y, mo, d, h, mi, s] = match;
  const asUtc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0));
  const check = new Date(asUtc);
  if (check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d) || Number(h) > 23) {
    throw new ValidationError(`"${at}" is not a real date.`, {
      details: [{ path: 'sendAt', problem: 'no such date' }],
    });
  }
  // Offsets in use around that moment: any instant matching the wall clock uses one of them.
  const offsets = new Set(
    [-36, -12, 0, 12, 36].map((hours) => offsetMinutes(asUtc + hours * 3_600_000, timeZone)),
  );
  const candidates = [...offsets]
    .map((offset) => asUtc - offset * 60_000)
    .filter((ms) => wallClock(ms, timeZone) === asUtc)
    .sort((a, b) => a - b);
  const first = candidates[0];
  if (first === undefined) {
    throw new ValidationError(
      `${at} does not exist in ${timeZone}: the clocks skip it for daylight saving. Pick another time.`,
      { details: [{ path: 'sendAt', problem: 'skipped by a daylight-saving change' }] },
    );
  }
  return new Date(first);
}

/** RFC 3339 in the given zone with its offset, e.g. 2026-12-01T09:00:00+09:00. */
export function formatInZone(instant: Date | string, timeZone: string): string {
  const ms = typeof instant === 'string' ? Date.parse(instant) : instant.getTime();
  const offset = offsetMinutes(ms, timeZone);
  const local = new Date(ms + offset * 60_000).toISOString().slice(0, 19);
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}
