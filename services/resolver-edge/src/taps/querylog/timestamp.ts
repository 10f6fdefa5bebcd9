import { DateTime } from 'luxon';

/**
 * BIND's `print-time` forms (logging channel options, BIND 9 ARM "logging"):
 *   `yes` / `local`  23-Nov-2026 13:46:05.518     local time, no offset
 *   `iso8601`        2026-11-23T13:46:25.290      local time, no offset
 *   `iso8601-utc`    2026-11-23T13:46:41.574Z     UTC
 * Local times are in the zone named was started in; the caller names it (IANA id).
 * Parsing is digit arithmetic over the line (no substrings); the zone's offset is
 * looked up once per local hour with luxon and cached, since it cannot change
 * within an hour except at a DST fall-back, which the log cannot disambiguate anyway.
 */
export interface ParsedTime {
  /** Epoch microseconds. */
  timeUs: number;
  /** Index just past the timestamp. */
  end: number;
}

const MONTHS: Readonly<Record<string, number>> = {
  Jan: 1, Feb: 2, Mar: 3, Apr: 4, May: 5, Jun: 6, Jul: 7, Aug: 8, Sep: 9, Oct: 10, Nov: 11, Dec: 12,
};

const CHAR_0 = 48;

/** Value of `count` decimal digits at `at`, or -1 when one of them is not a digit. */
function digits(line: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const d = line.charCodeAt(i) - CHAR_0;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

export class BindTimestampParser {
  private readonly zone: string;
  private cachedHourKey = -1;
  private cachedHourStartMs = 0;

  /** @param zone IANA zone of the local timestamps (e.g. "Africa/Kampala"); invalid zones are refused by `isValidZone`. */
  constructor(zone: string) {
    this.zone = zone;
  }

  static isValidZone(zone: string): boolean {
    return DateTime.local().setZone(zone).isValid;
  }

  /** The timestamp at the start of `line`, or null when there is none (or it is not a real date). */
  parse(line: string): ParsedTime | null {
    // 9.16+ `dd-Mon-yyyy HH:MM:SS.mmm` (isc_time_formattimestamp)
    if (line.charCodeAt(2) === 45 /* - */) return this.parseBindLocal(line);
    if (line.charCodeAt(4) === 45 /* - */ && line.charCodeAt(10) === 84 /* T */) return this.parseIso(line);
    return null;
  }

  private parseBindLocal(line: string): ParsedTime | null {
    if (line.length < 24 || line.charCodeAt(6) !== 45 || line.charCodeAt(11) !== 32 || line.charCodeAt(14) !== 58 || line.charCodeAt(17) !== 58 || line.charCodeAt(20) !== 46) {
      return null;
    }
    const month = MONTHS[line.slice(3, 6)];
    if (month === undefined) return null;
    return this.local(digits(line, 7, 4), month, digits(line, 0, 2), digits(line, 12, 2), digits(line, 15, 2), digits(line, 18, 2), digits(line, 21, 3), 24);
  }

  private parseIso(line: string): ParsedTime | null {
    if (line.length < 23 || line.charCodeAt(7) !== 45 || line.charCodeAt(13) !== 58 || line.charCodeAt(16) !== 58 || line.charCodeAt(19) !== 46) return null;
    const year = digits(line, 0, 4);
    const month = digits(line, 5, 2);
    const day = digits(line, 8, 2);
    const hour = digits(line, 11, 2);
    const minute = digits(line, 14, 2);
    const second = digits(line, 17, 2);
    const milli = digits(line, 20, 3);
    if (line.charCodeAt(23) === 90 /* Z */) {
      if (!validFields(year, month, day, hour, minute, second, milli)) return null;
      const ms = Date.UTC(year, month - 1, day, hour, minute, second, milli);
      // Date.UTC rolls 31-Feb over to March; a real log never has it.
      if (new Date(ms).getUTCDate() !== day) return null;
      return { timeUs: ms * 1000, end: 24 };
    }
    return this.local(year, month, day, hour, minute, second, milli, 23);
  }

  private local(
    year: number, month: number, day: number, hour: number, minute: number, second: number, milli: number, end: number,
  ): ParsedTime | null {
    if (!validFields(year, month, day, hour, minute, second, milli)) return null;
    const hourKey = ((year * 13 + month) * 32 + day) * 24 + hour;
    if (hourKey !== this.cachedHourKey) {
      const start = DateTime.fromObject({ year, month, day, hour }, { zone: this.zone });
      if (!start.isValid || start.day !== day) return null;
      this.cachedHourKey = hourKey;
      this.cachedHourStartMs = start.toMillis();
    }
    return { timeUs: (this.cachedHourStartMs + minute * 60_000 + second * 1000 + milli) * 1000, end };
  }
}

function validFields(year: number, month: number, day: number, hour: number, minute: number, second: number, milli: number): boolean {
  // second 60: a leap second is never written by isc_time (it uses gettimeofday).
  return year >= 1970 && month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 && second >= 0 && second <= 59 && milli >= 0;
}
