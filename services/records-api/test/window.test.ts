import { describe, expect, it } from 'vitest';
import { ApiError } from '../src/errors.js';
import { DEFAULT_WINDOW_MINUTES, MAX_WINDOW_MINUTES, parseStatsWindow } from '../src/stats/window.js';

const NOW = new Date('2024-05-01T12:00:00.000Z');

function window(query: Record<string, unknown>): { from: string; to: string } {
  const w = parseStatsWindow(query, NOW);
  return { from: w.from.toISOString(), to: w.to.toISOString() };
}

describe('parseStatsWindow', () => {
  it.each<[string, Record<string, unknown>, { from: string; to: string }]>([
    ['default: last 24 hours', {}, { from: '2024-04-30T12:00:00.000Z', to: NOW.toISOString() }],
    ['minutes', { minutes: '15' }, { from: '2024-05-01T11:45:00.000Z', to: NOW.toISOString() }],
    ['minutes with spaces', { minutes: ' 5 ' }, { from: '2024-05-01T11:55:00.000Z', to: NOW.toISOString() }],
    ['from and to', { from: '2024-04-01T00:00:00Z', to: '2024-04-02T00:00:00Z' }, { from: '2024-04-01T00:00:00.000Z', to: '2024-04-02T00:00:00.000Z' }],
    ['from only: to is now', { from: '2024-05-01T11:00:00Z' }, { from: '2024-05-01T11:00:00.000Z', to: NOW.toISOString() }],
    ['offsets', { from: '2024-05-01T10:00:00+02:00', to: '2024-05-01T09:30:00.5-01:00' }, { from: '2024-05-01T08:00:00.000Z', to: '2024-05-01T10:30:00.500Z' }],
    ['+ decoded as space', { from: '2024-05-01T10:00:00 02:00' }, { from: '2024-05-01T08:00:00.000Z', to: NOW.toISOString() }],
    ['date only', { from: '2024-04-30' }, { from: '2024-04-30T00:00:00.000Z', to: NOW.toISOString() }],
    ['minute precision', { from: '2024-05-01T11:30Z' }, { from: '2024-05-01T11:30:00.000Z', to: NOW.toISOString() }],
  ])('%s', (_name, query, expected) => {
    expect(window(query)).toEqual(expected);
  });

  it('uses a 24 hour default', () => {
    expect(DEFAULT_WINDOW_MINUTES).toBe(1440);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['minutes not a number', { minutes: 'ten' }, 'minutes'],
    ['minutes negative', { minutes: '-5' }, 'minutes'],
    ['minutes fractional', { minutes: '1.5' }, 'minutes'],
    ['minutes zero', { minutes: '0' }, 'minutes'],
    ['minutes too large', { minutes: String(MAX_WINDOW_MINUTES + 1) }, 'minutes'],
    ['minutes empty', { minutes: '' }, 'minutes'],
    ['minutes repeated', { minutes: ['5', '6'] }, 'minutes'],
    ['minutes with from', { minutes: '5', from: '2024-05-01T11:00:00Z' }, 'minutes'],
    ['from not a date', { from: 'yesterday' }, 'from'],
    ['from without zone', { from: '2024-05-01T11:00:00' }, 'from'],
    ['from impossible day', { from: '2024-02-30T00:00:00Z' }, 'from'],
    ['from impossible hour', { from: '2024-05-01T24:00:00Z' }, 'from'],
    ['from epoch number', { from: '1714564800' }, 'from'],
    ['to not a date', { from: '2024-05-01T11:00:00Z', to: 'now' }, 'to'],
    ['to without from', { to: '2024-05-01T11:00:00Z' }, 'from'],
    ['from after to', { from: '2024-05-01T11:00:00Z', to: '2024-05-01T10:00:00Z' }, 'from'],
    ['from equals to', { from: '2024-05-01T11:00:00Z', to: '2024-05-01T11:00:00Z' }, 'from'],
    ['window too long', { from: '2023-01-01T00:00:00Z', to: '2024-01-01T00:00:00Z' }, 'from'],
    ['from in the future', { from: '2024-05-02T00:00:00Z' }, 'from'],
    ['unknown parameter', { minute: '5' }, 'minute'],
  ])('400 for %s, naming %s', (_name, query, parameter) => {
    let caught: unknown;
    try {
      parseStatsWindow(query, NOW);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ApiError);
    const error = caught as ApiError;
    expect(error.status).toBe(400);
    expect(error.code).toBe('GHOSTDNS_API_INVALID_PARAMETER');
    expect(error.message).toContain(`'${parameter}'`);
  });
});
