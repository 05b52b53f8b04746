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

/** Waits for a message to `address` and returns it. */
export async function mailTo(address: string): Promise<ReceivedMail> {
  let found: ReceivedMail | undefined;
  await expect
    .poll(() => (found = receivedMail().find((m) => m.rcpt_tos.includes(address))), { timeout: 20_000 })
    .toBeTruthy();
  return found!;
}
