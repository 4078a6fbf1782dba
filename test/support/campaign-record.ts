/** A campaign record as the store returns it, for tests of what is computed from one (its view, progress). */
import { emptyCounts } from '../../core/campaigns/status.ts';
import type { CampaignRecord, RecipientsCheck } from '../../core/campaigns/store.ts';

type Fields = Partial<Omit<CampaignRecord, 'spec' | 'check'>> & {
  spec?: Partial<CampaignRecord['spec']>;
  check?: Partial<RecipientsCheck>;
};

/** Campaign c1, sending template t to a checked upload; `fields` replace these, `spec` and `check` add to them. */
export function campaignRecord({ spec, check, ...fields }: Fields = {}): CampaignRecord {
  return {
    id: 'c1',
    kind: 'campaign',
    name: 'n',
    status: 'sending',
    templateVersion: 1,
    rate: 100,
    createdAt: '2026-11-25T10:00:00.000Z',
    updatedAt: '2026-11-25T10:00:00.000Z',
    executions: 1,
    progress: emptyCounts(),
    ...fields,
    spec: {
      templateId: 't',
      recipientsKey: 'uploads/recipients/x.csv',
      from: 'a@example.com',
      onInvalidRows: 'skip',
      toleratedFailurePercentage: 5,
      ...spec,
    } as CampaignRecord['spec'],
    check: {
      columns: ['email'],
      emailColumn: 'email',
      rows: 0,
      valid: 0,
      invalid: 0,
      duplicates: 0,
      blankLines: 0,
      problems: [],
      ...check,
    },
  };
}
