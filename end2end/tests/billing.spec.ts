import { expect, test } from '@playwright/test';
import { expectHydrated, mailTo, processOrder, signIn, watchForErrors } from './helpers';

test('staff send an invoice; the customer opens it from the e-mail, saves it to a new account, signs in and downloads the PDF @nojs', async ({ page, browser }, testInfo) => {
  const tag = testInfo.project.name.replace(/[^a-z]/g, '');
  const org = `Pied Piper ${tag}`;
  const mainEmail = `erlich.${tag}@piedpiper.example`;
  const problems = watchForErrors(page);

  // A new customer, whose Main Contact has no password yet.
  await signIn(page, 'billing@example.com');
  await expect(page).toHaveURL(/\/staff$/);
  await processOrder(page, { org, mainName: 'Erlich Main', mainEmail });

  // Staff write and send an invoice.
  await page.goto('/staff/billing');
  await page.getByRole('link', { name: 'New invoice' }).click();
  await expect(page.getByRole('heading', { name: 'New invoice' })).toBeVisible();
  await page.getByLabel('Customer organization').selectOption({ label: org });
  await page.getByLabel('Line 1 description').fill('Compression consulting');
  await page.getByLabel('Line 1 quantity').fill('3');
  await page.getByLabel('Line 1 unit price').fill('0.335');
  await page.getByLabel('Line 1 tax rate').fill('21');
  await page.getByRole('button', { name: 'Save draft' }).click();
  await expect(page.getByRole('heading', { level: 1, name: /Draft invoice/ })).toBeVisible();
  // 3 × 0.335 = 1.005 → 1.01; 21% → 0.21.
  await expect(page.getByTestId('total')).toHaveText('1.22 EUR');
  await page.getByRole('button', { name: 'Send to the customer' }).click();
  const heading = page.getByRole('heading', { level: 1, name: /Invoice INV-\d{4}-\d{5}/ });
  await expect(heading).toBeVisible();
  const number = (await heading.textContent())!.match(/INV-\d{4}-\d{5}/)![0];
  await expect(page.getByRole('status')).toContainText('Sent');

  // The e-mail arrives at the SMTP server; its link opens the invoice without signing in.
  const mail = await mailTo(mainEmail, number);
  const link = mail.body.match(/https?:\/\/\S+\/documents\/open\?token=[\w-]+/)![0];
  const context = await browser.newContext();
  const visitor = await context.newPage();
  // The link shows a button (a mail system's scanner fetching it opens nothing).
  await visitor.goto(link);
  await visitor.getByRole('button', { name: 'Open the document' }).click();
  await expect(visitor).toHaveURL(/\/d\/\d+$/);
  expect(visitor.url()).not.toContain('token');
  await expect(visitor.getByRole('heading', { level: 1, name: new RegExp(number) })).toBeVisible();
  await expect(visitor.getByTestId('total')).toHaveText('1.22 EUR');

  // Save: the address the link was sent to gets a link to set the password
  // (whoever holds a forwarded link cannot choose it).
  await visitor.getByRole('button', { name: 'E-mail me a link to create my account' }).click();
  await expect(visitor.getByRole('status')).toContainText('We e-mailed');
  const create = await mailTo(mainEmail, 'Create your Portico account');
  await visitor.goto(create.body.match(/https?:\/\/\S+\/activate\?token=[\w-]+/)![0]);
  await visitor.getByLabel('New password', { exact: true }).fill('erlich has a long password');
  await visitor.getByLabel('Confirm password', { exact: true }).fill('erlich has a long password');
  await visitor.getByRole('button', { name: 'Set password' }).click();
  await expect(visitor).not.toHaveURL(/activate/);
  await visitor.getByRole('button', { name: 'Sign out' }).click();

  // From now on: sign in with the e-mail; the invoice is listed; the PDF downloads.
  await signIn(visitor, mainEmail, 'erlich has a long password');
  await expect(visitor).not.toHaveURL(/sign-in/);
  await visitor.goto('/billing');
  const row = visitor.getByRole('row', { name: new RegExp(number) });
  await expect(row).toContainText('1.22 EUR');
  await row.getByRole('link').click();
  const download = visitor.waitForEvent('download');
  await visitor.getByRole('link', { name: 'Download PDF' }).click();
  const pdf = await download;
  expect(pdf.suggestedFilename()).toBe(`${number}.pdf`);
  const fs = require('node:fs');
  const bytes: Buffer = fs.readFileSync(await pdf.path());
  expect(bytes.subarray(0, 8).toString()).toBe('%PDF-1.4');
  await context.close();
  expect(problems).toEqual([]);
});

test('a refused draft says what to fix and keeps what was typed; more line rows on demand', async ({ page }) => {
  await signIn(page, 'billing@example.com');
  await expect(page).toHaveURL(/\/staff$/);
  await page.goto('/staff/billing/new?kind=estimate');
  await expectHydrated(page);
  await expect(page.getByLabel('Line 4 description')).toHaveCount(0);
  await page.getByRole('button', { name: 'Add a line' }).click();
  await page.getByLabel('Line 4 description').fill('Health check');
  await page.getByLabel('Line 4 quantity').fill('-2');
  await page.getByLabel('Line 4 unit price').fill('1200');
  await page.getByRole('button', { name: 'Save draft' }).click();
  await expect(page.getByText('Please correct the')).toBeVisible();
  await expect(page.getByText('Choose the customer organization.')).toBeVisible();
  await expect(page.getByText(/Line 4 quantity: write a number/)).toBeVisible();
  await expect(page.getByLabel('Line 4 description')).toHaveValue('Health check');
  await expect(page).toHaveURL(/\/staff\/billing\/new/);
});
