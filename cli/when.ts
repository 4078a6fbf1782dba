/**
 * `--at` for people: an RFC 3339 time, a local date and time in `--tz`, or today/tomorrow at a clock time.
 * Checked here, before anything is uploaded, so a typo or a time in the past is named with the flag and
 * the zone it was read in, instead of coming back from the API as an echo of a mangled string.
 */
import { formatInZone, isValidTimeZone, resolveSendAt } from '../core/campaigns/schedule.ts';
import { CliError, EXIT } from './exit.ts';

const WITH_OFFSET = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i;
const LOCAL = /^(\d{4}-\d{2}-\d{2})[T ](\d{1,2}):(\d{2})(?::(\d{2}))?$/;
const RELATIVE = /^(today|tomorrow)(?:\s+at)?\s+(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$/i;

export interface ResolvedAt {
  /** What the API is sent: RFC 3339 with an offset, or a local date-time read in `timeZone`. */
  sendAt: string;
  timeZone: string;
  /** The instant, to show back and to compare with now. */
  instant: Date;
}

const pad = (n: number) => String(n).padStart(2, '0');

function refuse(at: string, timeZone: string, why: string): never {
  throw new CliError(
    `--at "${at}" ${why}. Give a date and time read in ${timeZone} (--tz), like "2026-12-01 09:00", ` +
      'one with an offset, like 2026-12-01T09:00+09:00, or "today 17:30" / "tomorrow 9am".',
    EXIT.usage,
  );
}

export function resolveAt(at: string, timeZone: string, now: Date): ResolvedAt {
  if (!isValidTimeZone(timeZone))
    throw new CliError(`--tz "${timeZone}" is not an IANA time zone (e.g. Europe/Paris).`, EXIT.usage);
  const text = at.trim();
  let local: string | undefined;
  let sendAt: string;
  if (WITH_OFFSET.test(text)) sendAt = text.replace(' ', 'T');
  else {
    const exact = LOCAL.exec(text);
    const relative = RELATIVE.exec(text);
    if (exact) {
      const [, date, h, mi, s] = exact;
      local = `${date}T${pad(Number(h))}:${mi}:${s ?? '00'}`;
    } else if (relative) {
      const [, day, hText, mi, meridiem] = relative;
      let hour = Number(hText);
      if (meridiem) {
        if (hour < 1 || hour > 12) refuse(at, timeZone, `has hour ${hour} with ${meridiem}`);
        hour = (hour % 12) + (meridiem.toLowerCase() === 'pm' ? 12 : 0);
      }
      if (hour > 23 || Number(mi ?? 0) > 59) refuse(at, timeZone, 'is not a clock time');
      // Today's date as the user's zone sees it, then one day on for tomorrow (calendar days, not 24 h).
      const today = formatInZone(now, timeZone).slice(0, 10);
      const [y, m, d] = today.split('-').map(Number) as [number, number, number];
      const date = new Date(Date.UTC(y, m - 1, d + (day?.toLowerCase() === 'tomorrow' ? 1 : 0)));
      local = `${date.toISOString().slice(0, 10)}T${pad(hour)}:${mi ?? '00'}:00`;
    } else refuse(at, timeZone, 'is not a time sixback understands');
    sendAt = local;
  }
  let instant: Date;
  try {
    instant = resolveSendAt(sendAt, local ? timeZone : undefined);
  } catch (error) {
    refuse(at, timeZone, `cannot be used: ${(error as Error).message.replace(/\.$/, '')}`);
  }
  if (instant.getTime() < now.getTime()) {
    const shown = formatInZone(instant, timeZone).slice(0, 16).replace('T', ' ');
    const nowShown = formatInZone(now, timeZone).slice(0, 16).replace('T', ' ');
    throw new CliError(
      `--at "${at}" is in the past: that is ${shown} in ${timeZone}, and it is now ${nowShown} there. ` +
        'Give a later time, or leave --at out to send now.',
      EXIT.usage,
    );
  }
  return { sendAt, timeZone, instant };
}
