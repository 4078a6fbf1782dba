/**
 * The sender's delivery guarantees with a MemoryLedger and a fake EmailSender: what reaches SES, what
 * reaches the ledger and when, and how a batch stops.
 */
import { describe, expect, it } from 'vitest';
import { MemorySuppressionList } from '../../core/compliance/suppression.ts';
import { addressKey } from '../../core/recipients/email-address.ts';
import { packVars, preparedLine } from '../../core/recipients/scanner.ts';
import type { PreparedRow, SendBatchResult } from '../../core/schemas.ts';
import type { EmailSender, OutgoingEmail } from '../../core/sending/email-sender.ts';
import { MemoryLedger } from '../../core/sending/ledger.ts';
import { LearntRates, type SenderDeps, sendBatch } from '../../core/sending/send-batch.ts';
import { CompiledTemplateCache, FAST_RENDER_CHECKS } from '../../core/templates/render.ts';
import { afterPendingPromises, waitFor } from '../support/wait.ts';

const TEMPLATE = {
  id: 'plain',
  version: 1,
  subject: 'Hi {{ first_name }}',
  html: '<p>Hi {{ first_name }}</p>',
  variables: ['first_name'],
  createdAt: '2026-11-25T00:00:00.000Z',
};

const row = (i: number): PreparedRow => {
  const email = `r${i}@example.com`;
  return { row: i + 1, state: 'ok', email, note: '', vars: packVars({ email, first_name: `N${i}` }) };
};

function batch(count: number, extra: Record<string, unknown> = {}, campaignId = 'c1') {
  return {
    BatchInput: {
      campaignId,
      templateId: 'plain',
      templateVersion: 1,
      from: 'news@sixback.example',
      replyTo: [],
      data: {},
      workerRate: 100_000,
      ...extra,
    },
    Items: Array.from({ length: count }, (_, i) => {
      const [r, state, email, note, vars] = preparedLine(row(i + 1))
        .trim()
        .split(',');
      return { index: i, row: { row: r, state, email, note, vars } };
    }),
  };
}

/** Counts calls (n, from 1) and the addresses it accepted. */
class FakeSes implements EmailSender {
  readonly sent: string[] = [];
  readonly sentEmails: OutgoingEmail[] = [];
  calls = 0;
  constructor(
    private readonly behave: (email: OutgoingEmail, n: number) => Promise<void> | void = () => {},
  ) {}
  async send(email: OutgoingEmail) {
    const n = ++this.calls;
    await this.behave(email, n);
    this.sent.push(email.to);
    this.sentEmails.push(email);
    return { messageId: `m-${email.to}` };
  }
}

const sesError = (name: string, status: number, message = name) =>
  Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });

function deps(emails: EmailSender, ledger = new MemoryLedger(), extra: Partial<SenderDeps> = {}): SenderDeps {
  return {
    emails,
    loadTemplate: async () => TEMPLATE,
    ledger,
    suppression: new MemorySuppressionList(),
    maxInFlight: 4,
    sleep: async () => undefined,
    ledgerFlushMs: 60_000,
    templateCache: new CompiledTemplateCache(),
    learntRates: new LearntRates(),
    ...extra,
  };
}

describe('sendBatch guarantees', () => {
  it('records accepted sends in groups of 25, the rest when the batch ends', async () => {
    const ledger = new MemoryLedger();
    await sendBatch(batch(60), deps(new FakeSes(), ledger));
    expect(ledger.writes.map((w) => w.length)).toEqual([25, 25, 10]);
    expect(ledger.entries.size).toBe(60);
  });

  it('a retried batch sends nobody twice and reports the earlier message ids', async () => {
    const ledger = new MemoryLedger();
    const ses = new FakeSes();
    const first = (await sendBatch(batch(30), deps(ses, ledger))) as SendBatchResult;
    const again = (await sendBatch(batch(30), deps(ses, ledger))) as SendBatchResult;
    expect(ses.sent).toHaveLength(30);
    expect(again.outcomes).toEqual(first.outcomes);
  });

  it("reads a large batch's ledger and suppression entries in groups of 100 at once, and skips each it finds", async () => {
    const ledger = new MemoryLedger();
    // An earlier attempt sent every seventh row; every eleventh address is suppressed.
    const earlier = new FakeSes();
    const rows = 950;
    await sendBatch(
      { ...batch(rows), Items: batch(rows).Items.filter((_, i) => i % 7 === 0) },
      deps(earlier, ledger),
    );
    const suppressed = new Set(
      batch(rows)
        .Items.filter((_, i) => i % 11 === 0)
        .map((item) => addressKey(decodeURIComponent(item.row.email as string))),
    );
    let inFlight = 0;
    let most = 0;
    const sizes: number[] = [];
    const counted = <T>(keys: string[], read: () => Promise<T>) => {
      sizes.push(keys.length);
      most = Math.max(most, ++inFlight);
      return read().finally(() => inFlight--);
    };
    const reads = Object.assign(Object.create(ledger) as MemoryLedger, {
      lookup: (campaignId: string, keys: string[]) => counted(keys, () => ledger.lookup(campaignId, keys)),
    });
    const list = new MemorySuppressionList(suppressed);
    const suppression = { lookup: (keys: string[]) => counted(keys, () => list.lookup(keys)) };
    const ses = new FakeSes();
    const result = (await sendBatch(batch(rows), {
      ...deps(ses, reads),
      suppression: suppression as unknown as MemorySuppressionList,
    })) as SendBatchResult;
    expect(Math.max(...sizes)).toBeLessThanOrEqual(100);
    // Ten groups for the ledger and ten for the suppression list, all asked before any answered.
    expect(most).toBe(20);
    const expectedSent = batch(rows).Items.filter((_, i) => i % 7 !== 0 && i % 11 !== 0).length;
    expect(ses.sent).toHaveLength(expectedSent);
    expect(result.outcomes.filter((o) => o.state === 'suppressed')).toHaveLength(
      batch(rows).Items.filter((_, i) => i % 7 !== 0 && i % 11 === 0).length,
    );
    expect(new Set([...earlier.sent, ...ses.sent]).size).toBe(earlier.sent.length + ses.sent.length);
  });

  it('never lets more than maxInFlight + 2 groups of accepted sends go unrecorded', async () => {
    let unblock: () => void = () => {};
    const blocked = new Promise<void>((resolve) => (unblock = resolve));
    const ledger = new MemoryLedger();
    const record = ledger.record.bind(ledger);
    ledger.record = async (id, entries) => {
      await blocked; // DynamoDB is stuck
      await record(id, entries);
    };
    const ses = new FakeSes();
    const running = sendBatch(batch(100), deps(ses, ledger, { maxInFlight: 4, ledgerGroupSize: 5 }));
    // Here the sender waits only on promises (sleep is stubbed, the 60 s flush timer never fires): once
    // every queued continuation has run it has sent all it will before the ledger answers. No guessed delay.
    await afterPendingPromises();
    // 4 in flight + 2 groups of 5: SES has accepted at most 14 messages the ledger does not know.
    expect(ses.sent.length).toBeLessThanOrEqual(14);
    expect(ses.sent.length).toBeGreaterThanOrEqual(10);
    unblock();
    await running;
    expect(ses.sent).toHaveLength(100);
    expect(ledger.entries.size).toBe(100);
  });

  it('writes a group within ledgerFlushMs of its first entry, however slow the campaign', async () => {
    const ledger = new MemoryLedger();
    // The second send waits until the first is in the ledger: without the timer this would never finish.
    const ses = new FakeSes(async (_email, n) => {
      while (n === 2 && ledger.entries.size === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    });
    await sendBatch(batch(2), deps(ses, ledger, { maxInFlight: 1, ledgerFlushMs: 20 }));
    expect(ledger.writes.map((w) => w.length)).toEqual([1, 1]);
  });

  it('records a rejection for good, and a later run reports it without asking SES again', async () => {
    const ledger = new MemoryLedger();
    const ses = new FakeSes((email) => {
      if (email.to === 'r2@example.com')
        throw sesError('MessageRejected', 400, 'Email address is not verified.');
    });
    await sendBatch(batch(3), deps(ses, ledger));
    expect(ledger.entries.get('c1/r2@example.com')).toEqual({
      key: 'r2@example.com',
      row: 3,
      state: 'failed',
      reason: 'MessageRejected: Email address is not verified.',
      retryable: false,
    });
    const calls = ses.sent.length;
    const rerun = (await sendBatch(batch(3, { run: 2 }), deps(ses, ledger))) as SendBatchResult;
    expect(ses.sent.length).toBe(calls);
    expect(rerun.outcomes[1]).toMatchObject({
      state: 'failed',
      reason: 'MessageRejected: Email address is not verified.',
    });
  });

  it('in a resend of failed rows, sends only rows recorded as retryable failures', async () => {
    const ledger = new MemoryLedger();
    await ledger.record('c1', [
      { key: 'r1@example.com', row: 2, messageId: 'm-old' },
      { key: 'r2@example.com', row: 3, state: 'failed', reason: 'not sent: throttled', retryable: true },
    ]);
    const ses = new FakeSes();
    const result = (await sendBatch(
      batch(3, { run: 2, mode: 'failed' }),
      deps(ses, ledger),
    )) as SendBatchResult;
    expect(ses.sent).toEqual(['r2@example.com']);
    expect(result.outcomes.map((o) => [o.email, o.state])).toEqual([
      ['r1@example.com', 'sent'],
      ['r2@example.com', 'sent'],
      ['r3@example.com', 'not_sent'],
    ]);
    expect(result.outcomes[2]?.reason).toMatch(/^this run resent only rows that had failed/);
  });

  it('lets only one attempt of a batch send at a time; the other waits and then sends nobody twice', async () => {
    const ledger = new MemoryLedger();
    let release: () => void = () => {};
    const slow = new Promise<void>((resolve) => (release = resolve));
    const ses = new FakeSes(async (_e, n) => {
      if (n === 1) await slow;
    });
    const first = sendBatch(batch(5), deps(ses, ledger, { maxInFlight: 1 }));
    // In its first send, so it holds the batch's lease.
    await waitFor('the first attempt sending', () => ses.calls === 1, 5000, 1);
    // A second attempt while the first is still sending (a retry after a Task timeout, a redelivery).
    await expect(sendBatch(batch(5), deps(ses, ledger))).rejects.toMatchObject({ name: 'SesTransientError' });
    release();
    await first;
    expect(ledger.leases.size).toBe(0);
    const retry = (await sendBatch(batch(5), deps(ses, ledger))) as SendBatchResult;
    expect(ses.sent).toHaveLength(5);
    expect(retry.outcomes.every((o) => o.state === 'sent')).toBe(true);
  });

  it('sends nothing when the gate says the campaign stopped', async () => {
    const ses = new FakeSes();
    const run = sendBatch(
      batch(5),
      deps(ses, new MemoryLedger(), { campaignGate: async () => 'the campaign is cancelled' }),
    );
    await expect(run).rejects.toMatchObject({
      name: 'CampaignStoppedError',
      message: 'Not sending: the campaign is cancelled.',
    });
    expect(ses.sent).toEqual([]);
  });

  it('stops within a gate interval when the campaign is stopped mid-batch, recording what it sent', async () => {
    let stopped = false;
    const ses = new FakeSes(async (_e, n) => {
      if (n === 20) stopped = true;
      await new Promise((resolve) => setTimeout(resolve, 2));
    });
    const ledger = new MemoryLedger();
    const run = sendBatch(
      batch(500),
      deps(ses, ledger, {
        maxInFlight: 2,
        gateIntervalMs: 10,
        campaignGate: async () => (stopped ? 'run 3 of the campaign has replaced run 1' : undefined),
      }),
    );
    await expect(run).rejects.toMatchObject({ name: 'CampaignStoppedError' });
    expect(ses.sent.length).toBeLessThan(100);
    expect(ledger.entries.size).toBe(ses.sent.length);
  });

  it('stops the whole campaign when SES pauses sending', async () => {
    const stops: string[] = [];
    const ses = new FakeSes((_e, n) => {
      if (n >= 3) throw sesError('SendingPausedException', 400, 'Sending paused for this account.');
    });
    const run = sendBatch(
      batch(50),
      deps(ses, new MemoryLedger(), {
        maxInFlight: 1,
        stopCampaign: async (_id, reason) => void stops.push(reason),
      }),
    );
    await expect(run).rejects.toMatchObject({ name: 'SesSendingStoppedError' });
    expect(stops).toEqual([
      'SES refused to send for this account: SendingPausedException: Sending paused for this account.',
    ]);
    expect(ses.sent).toHaveLength(2);
  });

  it('gives up a batch that outlives its deadline as retryable, with what it sent recorded', async () => {
    const ledger = new MemoryLedger();
    const ses = new FakeSes(() => new Promise((resolve) => setTimeout(resolve, 20)));
    const run = sendBatch(batch(50), deps(ses, ledger, { maxInFlight: 1, deadlineMs: 100 }));
    await expect(run).rejects.toMatchObject({ name: 'SesThrottledError' });
    expect(ses.sent.length).toBeGreaterThan(0);
    expect(ses.sent.length).toBeLessThan(50);
    expect(ledger.entries.size).toBe(ses.sent.length);
  });

  it('retries throttling with backoff and sends once it passes', async () => {
    const ses = new FakeSes((_e, n) => {
      if (n <= 2) throw sesError('TooManyRequestsException', 429, 'Maximum sending rate exceeded.');
    });
    const result = (await sendBatch(
      batch(1),
      deps(ses, new MemoryLedger(), { maxInFlight: 1 }),
    )) as SendBatchResult;
    expect(result.outcomes[0]).toMatchObject({ state: 'sent', messageId: 'm-r1@example.com' });
    expect(ses.calls).toBe(3);
  });
});

/** A promise the test settles when it chooses. */
function deferred<T>() {
  let resolve: (value: T) => void = () => {};
  let reject: (error: Error) => void = () => {};
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A ledger whose lease answers when the test says, logging every call in order. */
class HeldLedger extends MemoryLedger {
  readonly events: string[] = [];
  readonly claimAnswer = deferred<void>();
  override async claim(campaignId: string, lease: string, owner: string, ttlMs: number) {
    this.events.push('claim asked');
    await this.claimAnswer.promise;
    this.events.push('claim answered');
    return super.claim(campaignId, lease, owner, ttlMs);
  }
  override async lookup(campaignId: string, keys: string[]) {
    this.events.push('ledger read');
    return super.lookup(campaignId, keys);
  }
}

describe("a batch's start", () => {
  it('asks the gate, the lease and the template at once, and reads the ledger only once the lease is held', async () => {
    const ledger = new HeldLedger();
    const gate = deferred<string | undefined>();
    const template = deferred<typeof TEMPLATE>();
    const ses = new FakeSes(() => {
      ledger.events.push('send');
    });
    const run = sendBatch(
      batch(3),
      deps(ses, ledger, {
        campaignGate: () => {
          ledger.events.push('gate asked');
          return gate.promise;
        },
        loadTemplate: () => {
          ledger.events.push('template asked');
          return template.promise;
        },
      }),
    );
    await waitFor('all three asked', () => ledger.events.length === 3, 5000, 1);
    expect(new Set(ledger.events)).toEqual(new Set(['gate asked', 'claim asked', 'template asked']));
    // The template and the gate answer first: still nothing is read or sent before the lease is held.
    template.resolve(TEMPLATE);
    gate.resolve(undefined);
    await afterPendingPromises();
    expect(ledger.events).not.toContain('ledger read');
    expect(ses.calls).toBe(0);
    ledger.claimAnswer.resolve();
    const result = (await run) as SendBatchResult;
    expect(result.outcomes.map((o) => o.state)).toEqual(['sent', 'sent', 'sent']);
    const order = ledger.events.slice(3);
    expect(order.indexOf('claim answered')).toBeLessThan(order.indexOf('ledger read'));
    expect(order.indexOf('ledger read')).toBeLessThan(order.indexOf('send'));
    expect(ledger.leases.size).toBe(0);
  });

  it('gives back the lease it got when the gate says stop, and reads and sends nothing', async () => {
    const ledger = new HeldLedger();
    ledger.claimAnswer.resolve();
    const ses = new FakeSes();
    const gate = deferred<string | undefined>();
    const run = sendBatch(batch(4), deps(ses, ledger, { campaignGate: () => gate.promise }));
    // The lease is held before the gate answers.
    await waitFor('the lease held', () => ledger.leases.size === 1, 5000, 1);
    gate.resolve('the campaign is cancelled');
    await expect(run).rejects.toMatchObject({ name: 'CampaignStoppedError' });
    expect(ledger.leases.size).toBe(0);
    expect(ledger.events).not.toContain('ledger read');
    expect(ses.calls).toBe(0);
  });

  it('says the campaign stopped rather than that the lease is taken, when both are so', async () => {
    const ledger = new MemoryLedger();
    await ledger.claim('c1', '~batch:1:0', 'someone else', 60_000);
    await expect(sendBatch(batch(2, { run: 1 }), deps(new FakeSes(), ledger))).rejects.toMatchObject({
      name: 'SesTransientError',
    });
    const run = sendBatch(
      batch(2, { run: 1 }),
      deps(new FakeSes(), ledger, { campaignGate: async () => 'the campaign is failed' }),
    );
    await expect(run).rejects.toMatchObject({ name: 'CampaignStoppedError' });
    // Still the other attempt's.
    expect(ledger.leases.get('c1/~batch:1:0')?.owner).toBe('someone else');
  });

  it('loads and compiles a template once for the batches that start together in a process', async () => {
    const template = deferred<typeof TEMPLATE>();
    let loads = 0;
    const shared = deps(new FakeSes(), new MemoryLedger(), {
      loadTemplate: () => {
        loads++;
        return template.promise;
      },
    });
    const runs = [0, 1, 2].map((n) =>
      sendBatch({ ...batch(2), Items: batch(6).Items.slice(2 * n, 2 * n + 2) }, shared),
    );
    await waitFor('the template asked for', () => loads > 0, 5000, 1);
    await afterPendingPromises();
    template.resolve(TEMPLATE);
    const results = (await Promise.all(runs)) as SendBatchResult[];
    expect(loads).toBe(1);
    expect(results.flatMap((r) => r.outcomes.map((o) => o.state))).toEqual(Array(6).fill('sent'));
  });

  it('does not keep a failed template load: the next batch loads it again', async () => {
    let loads = 0;
    const shared = deps(new FakeSes(), new MemoryLedger(), {
      loadTemplate: async () => {
        if (++loads === 1) throw new Error('DynamoDB is down');
        return TEMPLATE;
      },
    });
    await expect(sendBatch(batch(2), shared)).rejects.toThrow('DynamoDB is down');
    const again = (await sendBatch(batch(2), shared)) as SendBatchResult;
    expect(loads).toBe(2);
    expect(again.outcomes.map((o) => o.state)).toEqual(['sent', 'sent']);
    expect((shared.ledger as MemoryLedger).leases.size).toBe(0);
  });
});

describe('recipient variables', () => {
  it('row columns override campaign data, and sixback sets email, campaign_id and unsubscribe_url itself', async () => {
    const ses = new FakeSes();
    const template = {
      ...TEMPLATE,
      id: 'vars',
      subject: '{{ first_name }}|{{ company }}|{{ email }}|{{ campaign_id }}',
      html: '<p>{{ unsubscribe_url }}</p>',
      text: '{{ first_name }}',
    };
    const event = batch(1, {
      templateId: 'vars',
      data: { first_name: 'from data', company: 'Acme', email: 'data@x', campaign_id: 'no' },
    });
    const result = (await sendBatch(
      event,
      deps(ses, new MemoryLedger(), {
        loadTemplate: async () => template,
        recipientExtras: () => ({ unsubscribeUrl: 'https://u.example/t', headers: [] }),
      }),
    )) as SendBatchResult;
    expect(result.outcomes[0]?.state).toBe('sent');
    const sent = ses.sentEmails[0] as OutgoingEmail;
    expect(sent.subject).toBe('N1|Acme|r1@example.com|c1');
    expect(sent.html).toBe('<p>https://u.example/t</p>');
  });
});

describe('the message handed to the sender', () => {
  it('is a whole email of its own: every field an own property, so a copy or toEqual sees html and text too', async () => {
    const ses = new FakeSes();
    const links = (campaignId: string, key: string) => ({
      unsubscribeUrl: `https://u.example/${campaignId}/${key}`,
      headers: [{ name: 'List-Unsubscribe', value: `<https://u.example/${campaignId}/${key}>` }],
    });
    for (const template of [
      TEMPLATE,
      // With a text template of its own (the render's other path).
      { ...TEMPLATE, id: 'texted', text: 'Hi {{ first_name }} ({{ unsubscribe_url }})' },
    ]) {
      ses.sentEmails.length = 0;
      // More rows than the safety net's first renders, so the prepared path's messages are checked too.
      const count = FAST_RENDER_CHECKS + 3;
      const rows = Array.from({ length: count }, (_, i) => i + 1);
      await sendBatch(
        batch(count, { templateId: template.id, configurationSet: 'cs' }, `c-${template.id}`),
        deps(ses, new MemoryLedger(), { loadTemplate: async () => template, recipientExtras: links }),
      );
      const sent = [...ses.sentEmails].sort((a, b) => a.to.localeCompare(b.to));
      expect(sent.map((email) => ({ ...email, json: undefined }))).toEqual(
        rows
          .sort((a, b) => `r${a}@example.com`.localeCompare(`r${b}@example.com`))
          .map((i) => ({
            from: 'news@sixback.example',
            to: `r${i}@example.com`,
            replyTo: [],
            subject: `Hi N${i}`,
            html: `<p>Hi N${i}</p>`,
            text:
              template.id === 'texted'
                ? `Hi N${i} (https://u.example/c-texted/r${i}@example.com)`
                : `Hi N${i}`,
            headers: links(`c-${template.id}`, `r${i}@example.com`).headers,
            tags: [{ name: 'campaign', value: `c-${template.id}` }],
            configurationSet: 'cs',
            json: undefined,
          })),
      );
      // Each email is its own object (the batch shares only what senders never change: the tags).
      expect(new Set(sent).size).toBe(count);
    }
  });
});

describe('running progress from inside a batch', () => {
  it('adds what SES accepted while the batch sends, at most once per interval, and every row once in all', async () => {
    // A clock the fake SES moves: each send takes 100 ms of it, so 40 sends span 4 s (one at a time).
    let clock = 0;
    const calls: { at: number; counts: Record<string, number | undefined> }[] = [];
    const ses = new FakeSes(() => {
      clock += 100;
    });
    const result = (await sendBatch(
      {
        ...batch(40),
        Items: [
          ...batch(40).Items,
          { index: 40, row: { row: '42', state: 'invalid', email: 'bad', note: 'bad', vars: '' } },
        ],
      },
      deps(ses, new MemoryLedger(), {
        maxInFlight: 1,
        now: () => clock,
        progressIntervalMs: 1000,
        addProgress: async (_id, counts) => {
          calls.push({ at: clock, counts: { ...counts } });
        },
      }),
    )) as SendBatchResult;
    expect(result.outcomes).toHaveLength(41);
    // Before the end: a write about every second of sending, each of `sent` only.
    const running = calls.slice(0, -1);
    expect(running.length).toBeGreaterThanOrEqual(3);
    for (const call of running) expect(Object.keys(call.counts)).toEqual(['sent']);
    for (let i = 1; i < running.length; i++)
      expect((running[i]?.at ?? 0) - (running[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual(1000);
    // In all, each row counted exactly once: 40 sent and the invalid row.
    const total = (state: string) => calls.reduce((sum, c) => sum + (c.counts[state] ?? 0), 0);
    expect(total('sent')).toBe(40);
    expect(total('invalid')).toBe(1);
  });

  it('counts only what SES accepted for a batch that fails, whatever was already added', async () => {
    let clock = 0;
    const added: number[] = [];
    const ses = new FakeSes((_email, n) => {
      clock += 400;
      if (n > 10) throw sesError('ServiceUnavailable', 503);
    });
    await expect(
      sendBatch(
        batch(30),
        deps(ses, new MemoryLedger(), {
          maxInFlight: 1,
          attempts: 1,
          now: () => clock,
          progressIntervalMs: 1000,
          addProgress: async (_id, counts) => {
            added.push(counts.sent ?? 0);
            expect(Object.keys(counts).filter((k) => k !== 'sent')).toEqual([]);
          },
        }),
      ),
    ).rejects.toThrow();
    expect(added.length).toBeGreaterThan(1);
    expect(added.reduce((a, b) => a + b, 0)).toBe(10);
  });
});

describe('the campaign-wide rate', () => {
  it("a batch sends on slots of the campaign's grid in the ledger: no sliding second above the rate, more than its share", async () => {
    let now = 1_000_000;
    const ledger = new MemoryLedger();
    const sentAt: number[] = [];
    const ses = new FakeSes(() => {
      sentAt.push(now);
    });
    // One clock for the senders: each sleep moves it on to when the sleeper wakes (the latest wins).
    const timers: { at: number; wake: () => void }[] = [];
    const d = deps(ses, ledger, {
      sharedRate: true,
      now: () => now,
      sleep: (ms) =>
        new Promise<void>((wake) => {
          timers.push({ at: now + Math.max(0, ms), wake });
        }),
    });
    // Two children of 100/s planned, one running: it may use the other's idle rate, never above 200/s.
    const sending = sendBatch(batch(300, { workerRate: 100, campaignRate: 200 }), d);
    let done = false;
    void sending.finally(() => {
      done = true;
    });
    while (!done) {
      await new Promise((r) => setImmediate(r));
      timers.sort((a, b) => a.at - b.at);
      const next = timers.shift();
      if (next) {
        now = Math.max(now, next.at);
        next.wake();
      }
    }
    const result = await sending;
    expect(result.outcomes.filter((o) => o.state === 'sent')).toHaveLength(300);
    expect(ses.sent).toHaveLength(300);
    expect([...ledger.rateCounters.keys()]).toEqual(['c1/~rate:1']);
    sentAt.sort((a, b) => a - b);
    let busiest = 0;
    for (let i = 0, j = 0; i < sentAt.length; i++) {
      while (j < sentAt.length && (sentAt[j] as number) < (sentAt[i] as number) + 1000) j++;
      busiest = Math.max(busiest, j - i);
    }
    expect(busiest).toBeLessThanOrEqual(200);
    // And above its share (100/s), or the shared rate would lend nothing.
    expect(busiest).toBeGreaterThan(150);
  });

  it('without the shared rate (sharedRate false) the ledger holds no rate counter', async () => {
    const ledger = new MemoryLedger();
    const d = deps(new FakeSes(), ledger, { sharedRate: false });
    await sendBatch(batch(20, { campaignRate: 200 }), d);
    expect(ledger.rateCounters.size).toBe(0);
  });
});
