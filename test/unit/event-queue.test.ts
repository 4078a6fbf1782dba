/**
 * The local stand-in for the SQS queue in front of the SES events function (local/ses/events.ts): a batch
 * the consumer throws on comes back whole; a batch it answers with the events that failed (a partial
 * batch response) comes back as those events only, as SQS does with ReportBatchItemFailures.
 */
import { describe, expect, it } from 'vitest';
import { EventQueue } from '../../local/ses/events.ts';

describe('the local events queue', () => {
  it('offers again only the events the consumer reported failed', async () => {
    const received: string[][] = [];
    let failOnce = new Set(['b', 'd']);
    const queue = new EventQueue<string>(
      async (batch) => {
        received.push([...batch]);
        const failed = batch.filter((e) => failOnce.has(e));
        failOnce = new Set();
        return failed;
      },
      { batchSize: 10, windowMs: 1, retryMs: 1 },
    );
    queue.push('a', 'b', 'c', 'd');
    await queue.idle();
    expect(received).toEqual([
      ['a', 'b', 'c', 'd'],
      ['b', 'd'],
    ]);
    expect(queue.delivered).toBe(4);
    expect(queue.dropped).toBe(0);
  });

  it('offers a batch again whole when the consumer throws, and drops what still fails after maxReceives', async () => {
    const received: string[][] = [];
    const queue = new EventQueue<string>(
      async (batch) => {
        received.push([...batch]);
        if (received.length === 1) throw new Error('the stack is starting');
        return batch.filter((e) => e === 'poison');
      },
      { batchSize: 10, windowMs: 1, retryMs: 1, maxReceives: 3 },
    );
    const errors = console.error;
    const logged: string[] = [];
    console.error = (line: string) => void logged.push(line);
    try {
      queue.push('a', 'poison');
      await queue.idle();
    } finally {
      console.error = errors;
    }
    expect(received).toEqual([['a', 'poison'], ['a', 'poison'], ['poison']]);
    expect(queue.delivered).toBe(1);
    expect(queue.dropped).toBe(1);
    expect(logged.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ localSes: 'events dropped after retries', events: 1 }),
    ]);
  });
});
