/** The bucket and table names a deployed function finds in its environment, for tests that read config. */
export const STORAGE_ENV = {
  SIXBACK_BUCKET: 'sixback-bucket',
  SIXBACK_CAMPAIGNS_TABLE: 'sixback-campaigns',
  SIXBACK_TEMPLATES_TABLE: 'sixback-templates',
  SIXBACK_LEDGER_TABLE: 'sixback-ledger',
  SIXBACK_SUPPRESSION_TABLE: 'sixback-suppression',
  SIXBACK_ANALYTICS_TABLE: 'sixback-analytics',
};
