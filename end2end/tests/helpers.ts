import { expect, Page } from '@playwright/test';

export const PASSWORD = 'portico-demo';

/** Fails the test on any Content-Security-Policy violation or page error. */
export function watchForErrors(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content.Security.Policy|Refused to/i.test(msg.text())) {
      problems.push(msg.text());
    }
  });
  page.on('pageerror', (err) => problems.push(String(err)));
  return problems;
}

export async function signIn(page: Page, email: string, password = PASSWORD) {
  await page.goto('/sign-in');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Waits until the WASM bundle has taken over the server-rendered page. */
export async function expectHydrated(page: Page) {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

export type ReceivedMail = { rcpt_tos: string[]; subject: string; body: string; to: string };

/** Everything the test SMTP server has received so far. */
export function receivedMail(): ReceivedMail[] {
  const fs = require('node:fs');
  const path = require('node:path');
  const dir = process.env.PORTICO_E2E_MAIL_DIR!;
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f: string) => f.endsWith('.json'))
    .sort()
    .map((f: string) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
}

/** Waits for a message to `address` (whose subject contains `subject`, if given) and returns it. */
export async function mailTo(address: string, subject = ''): Promise<ReceivedMail> {
  let found: ReceivedMail | undefined;
  await expect
    .poll(
      () => (found = receivedMail().find((m) => m.rcpt_tos.includes(address) && m.subject.includes(subject))),
      { timeout: 20_000 },
    )
    .toBeTruthy();
  return found!;
}

/** Staff (already signed in) process an Order Form; returns when the organization page shows. */
export async function processOrder(
  page: Page,
  o: { org: string; mainName: string; mainEmail: string; techName?: string; techEmail?: string },
) {
  await page.goto('/staff/orders/new');
  await expect(page.getByRole('heading', { name: 'Process an Order Form' })).toBeVisible();
  await page.getByLabel('Organization name', { exact: true }).fill(o.org);
  await page.getByLabel('Legal name', { exact: true }).fill(`${o.org} Inc.`);
  await page.getByLabel('Address', { exact: true }).fill('1 Hacker Way\nPalo Alto');
  const level = page.getByLabel('Program and level');
  await level.selectOption((await level.locator('option', { hasText: 'Standard' }).getAttribute('value'))!);
  await page.getByLabel('Term start').fill('2027-01-01');
  await page.getByLabel('Term end').fill('2027-12-31');
  await page.getByLabel('Payment method').selectOption('bank_transfer');
  await page.getByLabel('Main Contact name').fill(o.mainName);
  await page.getByLabel('Main Contact email').fill(o.mainEmail);
  if (o.techName && o.techEmail) {
    await page.getByLabel('Technical Contact 1 name').fill(o.techName);
    await page.getByLabel('Technical Contact 1 email').fill(o.techEmail);
  }
  await page.getByRole('button', { name: 'Process order' }).click();
  await expect(page).toHaveURL(/\/staff\/organizations\/\d+/);
  await expect(page.getByRole('status')).toContainText('Order processed');
}
