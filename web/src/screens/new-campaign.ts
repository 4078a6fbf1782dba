/**
 * New campaign: template version, recipients CSV (uploaded straight to storage with the presigned POST,
 * then checked by the API), campaign variables, sender, when, rate, an optional test send, and a final
 * confirmation that states how many recipients and when. Missing template variables block the send.
 */

import type { ShortRowAction } from '../../../core/schemas.ts';
import type { RecipientsUploadCheck, TemplateRecord, TemplateSummary } from '../api.ts';
import { ApiError, client, uploadFile } from '../api.ts';
import { abTestEditor } from '../components/ab-test-editor.ts';
import { choice, errorBox, field, formatNumber, formatTime, h, mount } from '../dom.ts';
import { isSystemVariable } from '../preview.ts';
import type { ScreenContext } from '../screen.ts';

const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

interface DataRow {
  name: HTMLInputElement;
  value: HTMLInputElement;
}

/** The earliest schedule the form offers: the next whole minute plus two, as a datetime-local value. */
function defaultLocalTime(): string {
  const d = new Date(Date.now() + 3 * 60_000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export async function newCampaignScreen({ root, query, setTitle }: ScreenContext): Promise<void> {
  setTitle('New campaign');
  mount(root, h('p', { 'aria-busy': 'true' }, 'Loading templates…'));
  const { items: templates } = await client.listTemplates();
  if (templates.length === 0) {
    mount(
      root,
      h('h1', null, 'New campaign'),
      h(
        'p',
        { class: 'empty' },
        'A campaign sends a template. ',
        h('a', { href: '#/templates/new' }, 'Create a template first'),
        '.',
      ),
    );
    return;
  }

  // ----- state -----
  let template: TemplateRecord | undefined;
  let versions: TemplateSummary[] = [];
  let check: RecipientsUploadCheck | undefined;
  let checkError: unknown;
  let uploading = false;
  const dataRows: DataRow[] = [];
  const idempotencyKey = crypto.randomUUID();

  // ----- controls -----
  const templateSelect = h(
    'select',
    { name: 'template', required: true },
    templates.map((t) => h('option', { value: t.id }, `${t.name ?? t.id} (v${t.version})`)),
  );
  const wanted = query.get('template');
  if (wanted && templates.some((t) => t.id === wanted)) templateSelect.value = wanted;
  const versionSelect = h('select', { name: 'version' });
  const templateInfo = h('div', { class: 'small', 'aria-live': 'polite' });

  const fileInput = h('input', { type: 'file', name: 'recipients', accept: '.csv,text/csv' });
  const emailColumnSelect = h('select', { name: 'emailColumn' });
  const emailColumnField = field('Email column', emailColumnSelect);
  emailColumnField.hidden = true;
  // The campaign's shortRows option: the check is run again with it, so it shows what will be sent.
  const shortRowsSelect = h(
    'select',
    { name: 'shortRows' },
    h('option', { value: 'skip' }, 'Skip them (listed as invalid)'),
    h('option', { value: 'pad' }, 'Send them with the missing values empty'),
    h('option', { value: 'refuse' }, 'Refuse the file'),
  );
  const shortRowsField = field('Rows with fewer fields than the header', shortRowsSelect);
  const checkBox = h('div', { 'aria-live': 'polite', 'data-testid': 'recipients-check' });

  const dataList = h('div', { class: 'data-rows' });
  const nameInput = h('input', { name: 'name', autocomplete: 'off' });
  const fromInput = h('input', { name: 'from', type: 'email', required: true, autocomplete: 'email' });
  const replyToInput = h('input', { name: 'replyTo', type: 'email', autocomplete: 'off' });
  const transactional = h('input', { type: 'checkbox', name: 'transactional' });
  const abortOnInvalid = h('input', { type: 'checkbox', name: 'abortOnInvalid' });

  const whenNow = h('input', { type: 'radio', name: 'when', value: 'now', checked: true });
  const whenLater = h('input', { type: 'radio', name: 'when', value: 'later' });
  const sendAtInput = h('input', {
    type: 'datetime-local',
    name: 'sendAt',
    value: defaultLocalTime(),
    disabled: true,
  });
  const zone = browserZone();
  const rateInput = h('input', {
    type: 'number',
    name: 'rate',
    min: '0.1',
    step: 'any',
    placeholder: 'default',
  });

  const testTo = h('input', {
    name: 'testTo',
    type: 'text',
    autocomplete: 'off',
    placeholder: 'you@example.com',
  });
  const testStatus = h('div', { role: 'status', 'aria-live': 'polite' });

  const blockers = h('ul', { id: 'blockers', class: 'blockers', 'aria-live': 'polite' });
  const reviewButton = h(
    'button',
    { type: 'submit', class: 'primary', 'aria-describedby': 'blockers' },
    'Review and send…',
  );
  const submitStatus = h('div', { role: 'status', 'aria-live': 'polite' });
  const dialog = h('dialog', { 'aria-labelledby': 'confirm-title', class: 'confirm' });

  const abTest = abTestEditor(templates, () => refresh());

  // ----- derived -----
  const dataValues = (): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const row of dataRows) if (row.name.value.trim()) out[row.name.value.trim()] = row.value.value;
    return out;
  };
  const missingVariables = (): string[] => {
    if (!template || !check) return [];
    const have = new Set([...check.columns, ...Object.keys(dataValues())]);
    return template.variables.filter((v) => !isSystemVariable(v) && !have.has(v));
  };
  const problems = (): string[] => {
    const list: string[] = [];
    if (!template) list.push('Choose a template.');
    if (uploading) list.push('Wait for the recipients file to upload and be checked.');
    else if (!check)
      list.push(checkError ? 'Fix the recipients file (see the problem above).' : 'Upload a recipients CSV.');
    else if (check.valid === 0) list.push('The recipients file has no valid row.');
    const missing = missingVariables();
    if (missing.length > 0) {
      list.push(
        `The template uses ${missing.map((m) => `"${m}"`).join(', ')}, which no column or campaign variable provides.`,
      );
    }
    for (const row of dataRows) {
      const name = row.name.value.trim();
      if (name && !VARIABLE_NAME.test(name))
        list.push(`"${name}" is not a variable name (letters, digits, _).`);
    }
    if (!fromInput.value.trim() || !fromInput.checkValidity()) list.push('Give a valid From address.');
    if (replyToInput.value.trim() && !replyToInput.checkValidity())
      list.push('The Reply-To address is not valid.');
    if (whenLater.checked && !sendAtInput.value) list.push('Choose the date and time to send.');
    if (rateInput.value && !(Number(rateInput.value) > 0)) list.push('The rate must be a positive number.');
    list.push(...abTest.problems());
    return list;
  };
  const refresh = () => {
    renderCheck();
    // Variables show as written (the check does not return rows); campaign variables are filled in.
    abTest.preview(template?.subject ?? '', dataValues());
    const list = problems();
    mount(
      blockers,
      list.map((p) => h('li', null, p)),
    );
    reviewButton.disabled = list.length > 0;
  };

  // ----- template -----
  const loadTemplate = async (version?: number) => {
    mount(templateInfo, 'Loading…');
    template = await client.getTemplate(templateSelect.value, version);
    if (version === undefined) {
      versions = (await client.templateVersions(template.id)).items;
      mount(
        versionSelect,
        versions.map((v) =>
          h('option', { value: String(v.version) }, `v${v.version} · ${formatTime(v.createdAt)}`),
        ),
      );
    }
    versionSelect.value = String(template.version);
    mount(
      templateInfo,
      h('span', null, 'Subject: ', h('q', null, template.subject)),
      ' · ',
      h('a', { href: `#/templates/${encodeURIComponent(template.id)}?version=${template.version}` }, 'open'),
    );
    refresh();
  };
  templateSelect.addEventListener(
    'change',
    () => void loadTemplate().catch((e) => mount(templateInfo, errorBox(e))),
  );
  versionSelect.addEventListener(
    'change',
    () => void loadTemplate(Number(versionSelect.value)).catch((e) => mount(templateInfo, errorBox(e))),
  );

  // ----- recipients -----
  let uploadedKey: string | undefined;
  const runCheck = async () => {
    if (!uploadedKey) return;
    uploading = true;
    refresh();
    try {
      check = await client.checkUpload(
        uploadedKey,
        emailColumnSelect.value || undefined,
        shortRowsSelect.value as ShortRowAction,
      );
      checkError = undefined;
      mount(
        emailColumnSelect,
        check.columns.map((c) => h('option', { value: c }, c)),
      );
      emailColumnSelect.value = check.emailColumn;
      emailColumnField.hidden = false;
    } catch (error) {
      check = undefined;
      checkError = error;
      const columns =
        (error instanceof ApiError && (error.details as { columns?: string[] })?.columns) || undefined;
      if (columns) {
        mount(
          emailColumnSelect,
          h('option', { value: '' }, 'Choose…'),
          columns.map((c) => h('option', { value: c }, c)),
        );
        emailColumnField.hidden = false;
      }
    } finally {
      uploading = false;
      refresh();
    }
  };
  fileInput.addEventListener('change', async () => {
    const file = fileInput.files?.[0];
    check = undefined;
    checkError = undefined;
    uploadedKey = undefined;
    emailColumnField.hidden = true;
    mount(emailColumnSelect);
    if (!file) return refresh();
    uploading = true;
    mount(checkBox, h('p', { 'aria-busy': 'true' }, `Uploading ${file.name}…`));
    refresh();
    try {
      // Spreadsheet programs label CSV files in several ways; the API accepts text/csv.
      const uploaded = await uploadFile('recipients', file, 'text/csv');
      uploadedKey = uploaded.key;
      mount(checkBox, h('p', { 'aria-busy': 'true' }, `Checking ${file.name}…`));
    } catch (error) {
      uploading = false;
      checkError = error;
      refresh();
      return;
    }
    await runCheck();
  });
  emailColumnSelect.addEventListener('change', () => void runCheck());
  shortRowsSelect.addEventListener('change', () => void runCheck());

  function renderCheck() {
    if (uploading) return;
    if (checkError) {
      mount(
        checkBox,
        h(
          'div',
          { class: 'alert error', role: 'alert' },
          h('strong', null, 'The file cannot be used. '),
          (checkError as Error).message,
          emailColumnField.hidden
            ? null
            : h('p', null, 'Choose the column that holds the addresses in “Email column” above.'),
        ),
      );
      return;
    }
    if (!check) {
      mount(checkBox);
      return;
    }
    const c = check;
    const variables = template?.variables.filter((v) => !isSystemVariable(v)) ?? [];
    const data = dataValues();
    const missing = missingVariables();
    mount(
      checkBox,
      h(
        'dl',
        { class: 'stats' },
        [
          ['Rows', c.rows],
          ['Valid', c.valid],
          ['Invalid', c.invalid],
          ['Duplicates', c.duplicates],
          ['Blank lines', c.blankLines],
          ...(c.shortRows ? [['Short rows', c.shortRows]] : []),
        ].map(([label, value]) =>
          h(
            'div',
            { class: `stat${label === 'Invalid' && c.invalid > 0 ? ' warn' : ''}` },
            h('dt', null, String(label)),
            h('dd', null, formatNumber(value as number)),
          ),
        ),
      ),
      h(
        'table',
        { class: 'list compact' },
        h('caption', null, 'Columns and the template variables they feed'),
        h(
          'thead',
          null,
          h('tr', null, h('th', { scope: 'col' }, 'Column'), h('th', { scope: 'col' }, 'Feeds')),
        ),
        h(
          'tbody',
          null,
          c.columns.map((col) =>
            h(
              'tr',
              null,
              h('th', { scope: 'row', class: 'mono' }, col),
              h(
                'td',
                null,
                col === c.emailColumn ? h('span', { class: 'badge' }, 'recipient address') : null,
                variables.includes(col)
                  ? h('code', null, `{{ ${col} }}`)
                  : col === c.emailColumn
                    ? null
                    : h('span', { class: 'muted' }, 'not used by the template'),
              ),
            ),
          ),
          variables
            .filter((v) => !c.columns.includes(v))
            .map((v) =>
              h(
                'tr',
                { class: v in data ? '' : 'missing' },
                h('th', { scope: 'row', class: 'muted' }, v in data ? 'campaign variable' : 'no column'),
                h(
                  'td',
                  null,
                  h('code', null, `{{ ${v} }}`),
                  v in data
                    ? ''
                    : h('strong', { class: 'danger' }, ' missing: add a column or a campaign variable'),
                ),
              ),
            ),
        ),
      ),
      missing.length > 0
        ? h(
            'p',
            { class: 'alert error', role: 'alert' },
            `Missing variables: ${missing.join(', ')}. The campaign cannot be sent until every variable has a value.`,
          )
        : null,
      c.problems.length > 0
        ? h(
            'table',
            { class: 'list compact problems', 'data-testid': 'invalid-rows' },
            h(
              'caption',
              null,
              `Invalid rows${c.invalid > c.problems.length ? ` (first ${c.problems.length} of ${formatNumber(c.invalid)})` : ''}: they will not be sent`,
            ),
            h(
              'thead',
              null,
              h('tr', null, h('th', { scope: 'col' }, 'Row'), h('th', { scope: 'col' }, 'Problem')),
            ),
            h(
              'tbody',
              null,
              c.problems.map((p) =>
                h(
                  'tr',
                  null,
                  h('td', { class: 'num' }, String(p.row)),
                  h('td', null, `Row ${p.row} ${p.problem}`),
                ),
              ),
            ),
          )
        : null,
    );
  }

  // ----- campaign variables -----
  const addDataRow = (name = '', value = '') => {
    const row: DataRow = {
      name: h('input', {
        value: name,
        'aria-label': 'Variable name',
        placeholder: 'name',
        class: 'mono',
        spellcheck: 'false',
      }),
      value: h('input', { value, 'aria-label': 'Value', placeholder: 'value' }),
    };
    dataRows.push(row);
    const element = h(
      'div',
      { class: 'data-row' },
      row.name,
      row.value,
      h(
        'button',
        {
          type: 'button',
          class: 'link',
          onclick: () => {
            dataRows.splice(dataRows.indexOf(row), 1);
            element.remove();
            refresh();
          },
        },
        'Remove',
      ),
    );
    row.name.addEventListener('input', refresh);
    dataList.append(element);
    row.name.focus();
  };

  // ----- request -----
  const request = () => {
    const data = dataValues();
    return {
      ...(nameInput.value.trim() ? { name: nameInput.value.trim() } : {}),
      templateId: (template as TemplateRecord).id,
      templateVersion: (template as TemplateRecord).version,
      recipientsKey: (check as RecipientsUploadCheck).key,
      ...(check?.emailColumn ? { emailColumn: check.emailColumn } : {}),
      from: fromInput.value.trim(),
      ...(replyToInput.value.trim() ? { replyTo: [replyToInput.value.trim()] } : {}),
      ...(Object.keys(data).length > 0 ? { data } : {}),
      ...(whenLater.checked ? { sendAt: sendAtInput.value, timeZone: zone } : { timeZone: zone }),
      ...(rateInput.value ? { rate: Number(rateInput.value) } : {}),
      onInvalidRows: abortOnInvalid.checked ? ('abort' as const) : ('skip' as const),
      shortRows: shortRowsSelect.value as ShortRowAction,
      transactional: transactional.checked,
      ...(abTest.value() ? { abTest: abTest.value() } : {}),
    };
  };

  const sendTest = async () => {
    const to = testTo.value
      .split(/[,\s]+/)
      .map((s) => s.trim())
      .filter(Boolean);
    if (!template || to.length === 0 || !fromInput.value.trim()) {
      mount(
        testStatus,
        errorBox(new Error('A test needs a template, a From address and at least one address to send to.')),
      );
      return;
    }
    mount(testStatus, 'Sending the test…');
    try {
      const result = await client.testSend({
        templateId: template.id,
        templateVersion: template.version,
        from: fromInput.value.trim(),
        to,
        ...(Object.keys(dataValues()).length ? { data: dataValues() } : {}),
        ...(check ? { recipientsKey: check.key, emailColumn: check.emailColumn } : {}),
      });
      mount(
        testStatus,
        h('p', { class: 'alert success' }, `Test sent to ${result.sent.map((s) => s.to).join(', ')}.`),
      );
    } catch (error) {
      mount(testStatus, errorBox(error));
    }
  };

  const confirmAndSend = () => {
    const list = problems();
    if (list.length > 0) return;
    const c = check as RecipientsUploadCheck;
    const at = whenLater.checked ? sendAtInput.value : undefined;
    const whenText = at
      ? `at ${new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' }).format(new Date(at))} (${zone})`
      : 'now';
    const status = h('div', { role: 'status', 'aria-live': 'polite' });
    const confirmButton = h(
      'button',
      { type: 'button', class: 'primary', autofocus: true },
      whenLater.checked ? 'Schedule' : 'Send now',
    );
    confirmButton.addEventListener('click', async () => {
      confirmButton.disabled = true;
      mount(status, 'Starting…');
      try {
        const created = await client.createCampaign(request(), idempotencyKey);
        dialog.close();
        location.hash = `#/campaigns/${encodeURIComponent(created.id)}`;
      } catch (error) {
        confirmButton.disabled = false;
        mount(status, errorBox(error));
      }
    });
    mount(
      dialog,
      h(
        'h2',
        { id: 'confirm-title' },
        whenLater.checked ? 'Schedule this campaign?' : 'Send this campaign now?',
      ),
      h(
        'p',
        { class: 'confirm-summary', 'data-testid': 'confirm-summary' },
        `${formatNumber(c.valid)} recipient${c.valid === 1 ? '' : 's'} will get “${template?.name ?? template?.id}” (v${template?.version}) from ${fromInput.value.trim()}, ${whenText}.`,
      ),
      c.invalid + c.duplicates > 0
        ? h(
            'p',
            null,
            `${formatNumber(c.invalid)} invalid and ${formatNumber(c.duplicates)} duplicate rows will be skipped and listed in the report.`,
          )
        : null,
      h(
        'p',
        { class: 'small muted' },
        'Addresses on the suppression list are skipped when the emails go out.',
      ),
      h(
        'div',
        { class: 'actions' },
        confirmButton,
        h('button', { type: 'button', onclick: () => dialog.close() }, 'Go back'),
      ),
      status,
    );
    dialog.showModal();
  };

  whenNow.addEventListener('change', () => {
    sendAtInput.disabled = true;
    refresh();
  });
  whenLater.addEventListener('change', () => {
    sendAtInput.disabled = false;
    sendAtInput.focus();
    refresh();
  });
  for (const input of [fromInput, replyToInput, sendAtInput, rateInput])
    input.addEventListener('input', refresh);

  const form = h(
    'form',
    {
      class: 'campaign-form',
      novalidate: true,
      onsubmit: (event: Event) => {
        event.preventDefault();
        confirmAndSend();
      },
    },
    h(
      'section',
      { class: 'card wide', 'aria-labelledby': 's-template' },
      h('h2', { id: 's-template' }, '1. Template'),
      h('div', { class: 'row' }, field('Template', templateSelect), field('Version', versionSelect)),
      templateInfo,
    ),
    h(
      'section',
      { class: 'card wide', 'aria-labelledby': 's-recipients' },
      h('h2', { id: 's-recipients' }, '2. Recipients'),
      field(
        'Recipients CSV',
        fileInput,
        'UTF-8 CSV (as Excel, Google Sheets or a mail tool exports it; commas, semicolons or tabs) with a header row and a column named "email"; other columns become template variables.',
      ),
      emailColumnField,
      shortRowsField,
      checkBox,
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 's-data' },
      h('h2', { id: 's-data' }, '3. Campaign variables'),
      h(
        'p',
        { class: 'hint' },
        'The same value for every recipient; a CSV column of the same name wins for its row.',
      ),
      dataList,
      h('button', { type: 'button', onclick: () => addDataRow() }, 'Add a variable'),
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 's-sender' },
      h('h2', { id: 's-sender' }, '4. Sender'),
      h(
        'div',
        { class: 'row' },
        field('From', fromInput, 'A verified SES identity.'),
        field('Reply-To (optional)', replyToInput),
      ),
      field('Campaign name (optional)', nameInput),
      choice(
        transactional,
        'Transactional mail (receipts, resets): the template may omit the unsubscribe link',
      ),
      choice(abortOnInvalid, 'Send nothing if any row is invalid'),
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 's-when' },
      h('h2', { id: 's-when' }, '5. When and how fast'),
      h(
        'fieldset',
        { class: 'when' },
        h('legend', null, 'Send'),
        choice(whenNow, 'Now'),
        choice(whenLater, 'Later, at'),
        field('Date and time', sendAtInput, `In your time zone, ${zone}.`),
      ),
      field('Rate, emails per second (optional)', rateInput, 'Leave empty for the configured default.'),
    ),
    h(
      'section',
      { class: 'card wide', 'aria-labelledby': 's-ab' },
      h('h2', { id: 's-ab' }, 'A/B test (optional)'),
      abTest.element,
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 's-test' },
      h('h2', { id: 's-test' }, '6. Test send (optional)'),
      h(
        'div',
        { class: 'row end' },
        field(
          'Send a test to (up to 5, comma-separated)',
          testTo,
          'Rendered with the first valid row of the CSV; subject prefixed [Test].',
        ),
        h('button', { type: 'button', onclick: () => void sendTest() }, 'Send test'),
      ),
      testStatus,
    ),
    h('div', { class: 'actions sticky wide' }, reviewButton, blockers, submitStatus),
  );

  mount(root, h('h1', null, 'New campaign'), form, dialog);
  await loadTemplate();
}
