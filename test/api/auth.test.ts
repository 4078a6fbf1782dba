/** The API refuses to run without authentication, and the campaign view's progress arithmetic. */
import { describe, expect, it } from 'vitest';
import { createApi } from '../../api/app.ts';
import type { ApiDeps } from '../../api/types.ts';
import { emptyCounts } from '../../core/campaigns/status.ts';
import { campaignView } from '../../core/campaigns/view.ts';
import { ConfigError } from '../../core/errors.ts';
import { campaignRecord } from '../support/campaign-record.ts';

describe('createApi', () => {
  it('refuses to build an app with no authentication or a guessable token', () => {
    const deps = {} as ApiDeps;
    expect(() => createApi({ deps, auth: undefined as never })).toThrow(ConfigError);
    expect(() => createApi({ deps, auth: { kind: 'bearer', token: '' } })).toThrow(/at least 16/);
    expect(() => createApi({ deps, auth: { kind: 'bearer', token: 'short-token' } })).toThrow(ConfigError);
  });
});

describe('campaignView', () => {
  const base = campaignRecord({
    spec: { timeZone: 'Europe/Paris' },
    templateVersion: 2,
    rate: 100,
    createdAt: '2026-11-25T09:59:00.000Z',
    updatedAt: '2026-11-25T10:00:00.000Z',
    sendAt: '2026-11-25T10:00:00.000Z',
    startedAt: '2026-11-25T10:00:00.000Z',
    executionArn: 'arn:aws:states:eu-west-1:1:execution:m:c1',
    progress: { ...emptyCounts(), sent: 900, invalid: 100 },
    check: { rows: 3000, valid: 2900, invalid: 100 },
  });

  it('measures the rate since the start and projects the end from it', () => {
    const view = campaignView(base, {
      now: new Date('2026-11-25T10:00:20.000Z'),
      consoleUrl: (arn) => `https://console/${arn}`,
    });
    expect(view.progress).toEqual({
      counts: { sent: 900, duplicate: 0, suppressed: 0, invalid: 100, failed: 0, not_sent: 0 },
      done: 1000,
      total: 3000,
      percent: 33.3,
      ratePerSecond: 50,
      plannedRate: 100,
      // 2,000 rows left at 50 per second: 40 s after now.
      expectedFinishAt: '2026-11-25T10:01:00.000Z',
    });
    expect(view.schedule).toEqual({
      sendAt: '2026-11-25T10:00:00.000Z',
      sendAtLocal: '2026-11-25T11:00:00+01:00',
      timeZone: 'Europe/Paris',
    });
    expect(view.executionUrl).toBe('https://console/arn:aws:states:eu-west-1:1:execution:m:c1');
  });

  it('uses the planned rate for a scheduled campaign and the exact totals once finished', () => {
    const scheduled = campaignView(
      {
        ...base,
        status: 'scheduled',
        startedAt: undefined,
        progress: emptyCounts(),
        sendAt: '2026-11-26T00:00:00.000Z',
      },
      { now: new Date('2026-11-25T10:00:00.000Z') },
    );
    expect(scheduled.progress.expectedFinishAt).toBe('2026-11-26T00:00:30.000Z');
    expect(scheduled.executionUrl).toBeNull();

    const done = campaignView(
      {
        ...base,
        status: 'completed_with_failures',
        finishedAt: '2026-11-25T10:01:00.000Z',
        totals: {
          rows: 3000,
          sent: 2890,
          duplicate: 0,
          suppressed: 0,
          invalid: 100,
          failed: 10,
          not_sent: 0,
        },
        reportKey: 'campaigns/c1/report.csv',
      },
      { now: new Date('2026-11-25T12:00:00.000Z') },
    );
    expect(done.progress).toMatchObject({
      done: 3000,
      total: 3000,
      percent: 100,
      ratePerSecond: 50,
      expectedFinishAt: null,
    });
    expect(done.progress.counts.failed).toBe(10);
    expect(done.reportAvailable).toBe(true);
  });
});
