/**
 * Step 2 of the new-campaign form: the recipients CSV, uploaded straight to storage with the presigned
 * POST, then checked by the API. Choosing another email column or short-row rule checks it again, so
 * what is shown is what will be sent.
 */
import type { ShortRowAction } from '../../../../core/schemas.ts';
import type { RecipientsUploadCheck } from '../../api.ts';
import { ApiError, client, uploadFile } from '../../api.ts';
import { card, field, h, mount } from '../../dom.ts';
import { type CheckContext, recipientsCheckView } from './recipients-check.ts';

export interface RecipientsUpload {
  element: HTMLElement;
  /** The check of the uploaded file, once it passed. */
  check(): RecipientsUploadCheck | undefined;
  shortRows(): ShortRowAction;
  /** What stops the campaign on this step, in the words the form lists. */
  problems(): string[];
  /** Shows the check (or why the file cannot be used) against the template's variables. */
  render(context: CheckContext): void;
}

/** `onChange` runs whenever the upload or its check moves on. */
export function recipientsUpload(onChange: () => void): RecipientsUpload {
  let check: RecipientsUploadCheck | undefined;
  let checkError: unknown;
  let uploading = false;
  let uploadedKey: string | undefined;

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

  const showColumns = (columns: string[], chooseFirst: boolean) => {
    mount(
      emailColumnSelect,
      chooseFirst ? h('option', { value: '' }, 'Choose…') : null,
      columns.map((c) => h('option', { value: c }, c)),
    );
    emailColumnField.hidden = false;
  };

  const runCheck = async () => {
    if (!uploadedKey) return;
    uploading = true;
    onChange();
    try {
      check = await client.checkUpload(
        uploadedKey,
        emailColumnSelect.value || undefined,
        shortRowsSelect.value as ShortRowAction,
      );
      checkError = undefined;
      showColumns(check.columns, false);
      emailColumnSelect.value = check.emailColumn;
    } catch (error) {
      check = undefined;
      checkError = error;
      // No email column found: the API names the columns, so the user can pick one.
      const columns =
        (error instanceof ApiError && (error.details as { columns?: string[] })?.columns) || undefined;
      if (columns) showColumns(columns, true);
    } finally {
      uploading = false;
      onChange();
    }
  };

  fileInput.addEventListener('change', async () => {
    const file = fileInput.files?.[0];
    check = undefined;
    checkError = undefined;
    uploadedKey = undefined;
    emailColumnField.hidden = true;
    mount(emailColumnSelect);
    if (!file) return onChange();
    uploading = true;
    mount(checkBox, h('p', { 'aria-busy': 'true' }, `Uploading ${file.name}…`));
    onChange();
    try {
      // Spreadsheet programs label CSV files in several ways; the API accepts text/csv.
      const uploaded = await uploadFile('recipients', file, 'text/csv');
      uploadedKey = uploaded.key;
      mount(checkBox, h('p', { 'aria-busy': 'true' }, `Checking ${file.name}…`));
    } catch (error) {
      uploading = false;
      checkError = error;
      onChange();
      return;
    }
    await runCheck();
  });
  emailColumnSelect.addEventListener('change', () => void runCheck());
  shortRowsSelect.addEventListener('change', () => void runCheck());

  const unusableFile = (error: unknown) =>
    h(
      'div',
      { class: 'alert error', role: 'alert' },
      h('strong', null, 'The file cannot be used. '),
      (error as Error).message,
      emailColumnField.hidden
        ? null
        : h('p', null, 'Choose the column that holds the addresses in “Email column” above.'),
    );

  return {
    element: card(
      { id: 's-recipients', title: '2. Recipients', wide: true },
      field(
        'Recipients CSV',
        fileInput,
        'UTF-8 CSV (as Excel, Google Sheets or a mail tool exports it; commas, semicolons or tabs) with a header row and a column named "email"; other columns become template variables.',
      ),
      emailColumnField,
      shortRowsField,
      checkBox,
    ),
    check: () => check,
    shortRows: () => shortRowsSelect.value as ShortRowAction,
    problems() {
      if (uploading) return ['Wait for the recipients file to upload and be checked.'];
      if (!check)
        return [checkError ? 'Fix the recipients file (see the problem above).' : 'Upload a recipients CSV.'];
      if (check.valid === 0) return ['The recipients file has no valid row.'];
      return [];
    },
    render(context) {
      // While uploading or checking, the box says so.
      if (uploading) return;
      if (checkError) mount(checkBox, unusableFile(checkError));
      else if (check) mount(checkBox, recipientsCheckView(check, context));
      else mount(checkBox);
    },
  };
}
