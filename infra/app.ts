/** The CDK app's entry (cdk.json: `npx tsx infra/app.ts`). Parameters: see infra/params.ts. */
import { buildApp } from './build.ts';

buildApp().app.synth();
