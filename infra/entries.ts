/**
 * The handlers the stack deploys besides the state machine's tasks (those are in handlers/index.ts).
 * Kept free of aws-cdk-lib so the bundle test can import it cheaply.
 */
export const API_ENTRY = 'handlers/api.ts';
export const SES_EVENTS_ENTRY = 'handlers/ses-events.ts';
export const JOBS_ENTRY = 'handlers/jobs.ts';
export const WEBHOOKS_ENTRY = 'handlers/webhooks.ts';
