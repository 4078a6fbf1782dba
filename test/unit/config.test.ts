import { describe, expect, it } from 'vitest';
import { configFromEnv } from '../../core/config.ts';
import { ConfigError } from '../../core/errors.ts';

const BASE = {
  SIXBACK_BUCKET: 'sixback-bucket',
  SIXBACK_TEMPLATES_TABLE: 't',
  SIXBACK_CAMPAIGNS_TABLE: 'c',
  SIXBACK_LEDGER_TABLE: 'l',
  SIXBACK_SUPPRESSION_TABLE: 's',
  SIXBACK_ANALYTICS_TABLE: 'a',
};

describe('configFromEnv: the sender capacity settings', () => {
  it('defaults to 250/s per worker, at most 64 in flight and the thin transports (what benchmarks measure)', () => {
    const config = configFromEnv(BASE);
    expect(config).toMatchObject({
      maxWorkerRate: 250,
      maxInFlight: 64,
      sesTransport: 'fast',
      dynamoTransport: 'fast',
    });
  });

  it('keeps the SDK path on request', () => {
    const config = configFromEnv({ ...BASE, SIXBACK_SES_TRANSPORT: 'sdk', SIXBACK_DYNAMO_TRANSPORT: 'sdk' });
    expect(config).toMatchObject({ sesTransport: 'sdk', dynamoTransport: 'sdk' });
  });

  it('reads the fast configuration the capacity model recommends', () => {
    const config = configFromEnv({
      ...BASE,
      SIXBACK_MAX_WORKER_RATE: '1000',
      SIXBACK_MAX_IN_FLIGHT: '100',
      SIXBACK_SES_TRANSPORT: 'fast',
      SIXBACK_DYNAMO_TRANSPORT: 'fast',
    });
    expect(config).toMatchObject({
      maxWorkerRate: 1000,
      maxInFlight: 100,
      sesTransport: 'fast',
      dynamoTransport: 'fast',
    });
  });

  it('refuses a value that is not a number, naming the setting', () => {
    expect(() => configFromEnv({ ...BASE, SIXBACK_MAX_IN_FLIGHT: 'lots' })).toThrow(ConfigError);
    expect(() => configFromEnv({ ...BASE, SIXBACK_MAX_IN_FLIGHT: 'lots' })).toThrow(/maxInFlight/);
    expect(() => configFromEnv({ ...BASE, SIXBACK_MAX_WORKER_RATE: '0' })).toThrow(/maxWorkerRate/);
  });
});
