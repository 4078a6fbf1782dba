/** The local stack keeps its state in a data folder: stopping and starting again loses nothing. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SAMPLE_TEMPLATE, sampleRecipientsCsv } from '../../cli/sample.ts';
import { startLocalStack } from '../../local/stack.ts';
import { readObject, runCampaign, uploadCsv } from '../support/local-stack.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'sixback-persist-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('a local stack with a data folder', () => {
  it('keeps templates, campaigns, uploads and reports across a restart', async () => {
    const first = await startLocalStack({ dataDir });
    let campaignId: string;
    let reportKey: string;
    try {
      await first.deps.templates.save('welcome', SAMPLE_TEMPLATE);
      await first.deps.templates.save('welcome', { ...SAMPLE_TEMPLATE, subject: 'v2 {{ first_name }}' });
      const recipientsKey = await uploadCsv(first, 'kept.csv', sampleRecipientsCsv(3));
      const { campaign } = await runCampaign(first, {
        templateId: 'welcome',
        recipientsKey,
        from: 'a@sixback.example',
        data: { company: 'c', sender_name: 's' },
      });
      expect(campaign.status).toBe('completed');
      campaignId = campaign.id;
      reportKey = campaign.reportKey as string;
    } finally {
      await first.stop();
    }

    const second = await startLocalStack({ dataDir });
    try {
      expect((await second.deps.templates.get('welcome')).version).toBe(2);
      expect((await second.deps.templates.get('welcome', 1)).subject).toBe(SAMPLE_TEMPLATE.subject);
      const campaign = await second.deps.campaigns.get(campaignId);
      expect(campaign).toMatchObject({ status: 'completed', totals: { rows: 3, sent: 3 } });
      expect((await readObject(second, reportKey)).trim().split('\n')).toHaveLength(4);
    } finally {
      await second.stop();
    }
  });
});
