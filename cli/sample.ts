/** Sample data for the demo: a template and a recipients CSV of people at example.com. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SAMPLE_TEMPLATE = {
  name: 'Welcome',
  subject: 'Welcome to {{ company }}, {{ first_name }}',
  html: readFileSync(fileURLToPath(new URL('../examples/welcome.html', import.meta.url)), 'utf8'),
  text: 'Welcome, {{ first_name }}! Thanks for joining {{ company }} from {{ city }} on the {{ plan }} plan.\n{{ sender_name }}',
};

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Radia', 'Tim'];
const CITIES = ['Seoul', 'Busan', 'Lisbon', 'Nairobi', 'Lima', 'Oslo', 'Osaka', 'Austin'];
const PLANS = ['free', 'pro', 'team'];

export function sampleRecipientsCsv(count: number): string {
  const lines = ['email,first_name,city,plan'];
  for (let i = 1; i <= count; i++) {
    lines.push(
      `user${i}@example.com,${FIRST[i % FIRST.length]} ${i},${CITIES[i % CITIES.length]},${PLANS[i % PLANS.length]}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
