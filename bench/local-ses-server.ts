/**
 * The local SES alone, in a process of its own (for bench/local-ses.ts --url, so the server and the
 * client do not share a CPU, as when comparing with another SES stand-in run the same way):
 *   npx tsx bench/local-ses-server.ts <port>
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trackingVariants } from '../core/sending/tracking.ts';
import { eventTypesFor, startLocalSes } from '../local/ses/server.ts';

const ses = await startLocalSes({
  directory: mkdtempSync(join(tmpdir(), 'sixback-ses-bench-')),
  port: Number(process.argv[2] ?? 0),
  configurationSets: trackingVariants('sixback-local').map(({ name, tracking }) => ({
    name,
    eventTypes: eventTypesFor(tracking),
  })),
  onEvents: async () => undefined,
});
console.log(ses.url);
