import { Browser, expect, Page, test } from '@playwright/test';
import { expectHydrated, signIn, watchForErrors } from './helpers';

async function as(browser: Browser, email: string): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, email);
  await expect(page).not.toHaveURL(/sign-in/);
  return page;
}

async function openTicket(page: Page, subject: string): Promise<string> {
  await page.goto('/support/tickets/new');
  await page.getByLabel('Subject').fill(subject);
  await page.getByLabel(/2 — High/).check();
  await page.getByLabel('Description').fill('The **cluster** stops after the upgrade.');
  // Affected servers come from the organization's inventory.
  await page.getByLabel('db-2 (bare metal)').check();
  await page.getByLabel('web-1 (VM)').check();
  await page.getByRole('button', { name: 'Open ticket' }).click();
  await expect(page).toHaveURL(/\/support\/tickets\/\d+/);
  await expect(page.getByRole('status')).toContainText('Ticket opened');
  await expect(page.locator('dd', { hasText: 'db-2 (bare metal), web-1 (VM)' })).toBeVisible();
  return page.url().match(/tickets\/(\d+)/)![1];
}

test('a staff comment appears on the customer’s open page without a reload, and a customer comment on the staff page', async ({ browser }) => {
  const customer = await as(browser, 'tech1@acme.example');
  const problems = watchForErrors(customer);
  const id = await openTicket(customer, 'Live updates, please');
  await expectHydrated(customer);
  await expect(customer.locator('[data-live="true"]')).toHaveCount(1);
  await expect(customer.locator('.markdown strong', { hasText: 'cluster' })).toBeVisible();
  // Marks this page: a reload would lose the mark.
  await customer.evaluate(() => ((window as any).__portico_mark = 'still here'));

  const staff = await as(browser, 'agent@example.com');
  await staff.goto(`/staff/tickets/${id}`);
  await expectHydrated(staff);
  await expect(staff.locator('[data-live="true"]')).toHaveCount(1);
  await staff.getByLabel('Comment (Markdown)').fill('We are **on it**.');
  await staff.getByRole('button', { name: 'Save' }).click();
  await expect(staff.getByText('Comment added.')).toBeVisible();

  // The customer's page shows it, and the new status, without a reload.
  await expect(customer.locator('.comments li', { hasText: 'We are on it.' })).toBeVisible({ timeout: 5_000 });
  await expect(customer.locator('.live-status')).toContainText('Open');
  await expect(customer.locator('.sla-met')).toContainText('First response');
  expect(await customer.evaluate(() => (window as any).__portico_mark)).toBe('still here');

  // An internal note never shows up there.
  await expectHydrated(staff);
  await expect(staff.locator('[data-live="true"]')).toHaveCount(1);
  await staff.evaluate(() => ((window as any).__portico_mark = 'staff page'));
  await staff.getByLabel('Comment (Markdown)').fill('INTERNAL: check the kernel version');
  await staff.getByLabel(/Internal note/).check();
  await staff.getByRole('button', { name: 'Save' }).click();
  await expect(staff.getByText('Comment added.')).toBeVisible();

  // The customer answers; the staff page (open again after its own post) shows it live.
  await expectHydrated(staff);
  await expect(staff.locator('[data-live="true"]')).toHaveCount(1);
  await staff.evaluate(() => ((window as any).__portico_mark = 'staff page'));
  await customer.getByLabel('Comment (Markdown)').fill('Thanks, here are the logs.');
  await customer.getByRole('button', { name: 'Add comment' }).click();
  await expect(staff.locator('.comments li', { hasText: 'Thanks, here are the logs.' })).toBeVisible({ timeout: 5_000 });
  expect(await staff.evaluate(() => (window as any).__portico_mark)).toBe('staff page');
  await expect(customer.getByText('INTERNAL: check the kernel version')).toHaveCount(0);
  expect(problems).toEqual([]);
});

test('open a ticket and comment without JavaScript @nojs', async ({ page }) => {
  await signIn(page, 'tech2@acme.example');
  await expect(page).toHaveURL(/\/support$/);
  const id = await openTicket(page, 'No script here');
  await expect(page.locator('.sla-running').first()).toContainText('due');
  await page.getByLabel('Comment (Markdown)').fill('A follow-up with `code`.');
  await page.getByRole('button', { name: 'Add comment' }).click();
  await expect(page.getByText('Comment added.')).toBeVisible();
  await expect(page.locator('.comments code', { hasText: 'code' })).toBeVisible();
  await page.getByLabel(/File \(up to 25 MB\)/).setInputFiles({
    name: 'server.log',
    mimeType: 'text/plain',
    buffer: Buffer.from('kernel: oops\n'),
  });
  await page.getByRole('button', { name: 'Attach' }).click();
  await expect(page.getByText('File attached.')).toBeVisible();
  const download = page.waitForEvent('download');
  await page.getByRole('link', { name: 'server.log' }).click();
  expect((await download).suggestedFilename()).toBe('server.log');
  await page.goto('/support');
  await expect(page.getByRole('link', { name: `#${id} No script here` })).toBeVisible();
});

test('an attachment uploads in the background (progress shown) and appears in the conversation without a reload', async ({ page }) => {
  await signIn(page, 'tech1@acme.example');
  await expect(page).toHaveURL(/\/support$/);
  await openTicket(page, 'Upload with progress');
  await expectHydrated(page);
  await expect(page.locator('[data-live="true"]')).toHaveCount(1);
  await page.evaluate(() => ((window as any).__portico_mark = 'same page'));
  await page.getByLabel(/File \(up to 25 MB\)/).setInputFiles({
    name: 'dump.bin',
    mimeType: 'application/octet-stream',
    buffer: Buffer.alloc(2 * 1024 * 1024, 7),
  });
  await page.getByRole('button', { name: 'Attach' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'File attached.' })).toBeVisible();
  await expect(page.locator('.comments a', { hasText: 'dump.bin' })).toBeVisible({ timeout: 5_000 });
  expect(await page.evaluate(() => (window as any).__portico_mark)).toBe('same page');
});

/**
 * The network between a page and its live socket: passed through to the real
 * server (what the server sends is recorded), except that it can be cut, and
 * kept down, on demand.
 */
async function cuttableNetwork(page: Page) {
  let down = false;
  let attempts = 0;
  const received: string[] = [];
  const open: Array<() => Promise<void>> = [];
  await page.routeWebSocket(/\/tickets\/\d+\/live/, (ws) => {
    attempts += 1;
    if (down) {
      void ws.close({ code: 4000, reason: 'network down' });
      return;
    }
    const server = ws.connectToServer();
    server.onMessage((m) => {
      received.push(String(m));
      ws.send(m);
    });
    ws.onMessage((m) => server.send(m));
    open.push(async () => {
      await server.close();
      await ws.close({ code: 4000, reason: 'network down' });
    });
  });
  return {
    /** Connection attempts so far. */
    attempts: () => attempts,
    received,
    async cut() {
      down = true;
      for (const close of open.splice(0)) await close();
    },
    restore() {
      down = false;
    },
  };
}

test('a page that loses its live connection keeps trying, and shows what it missed, once', async ({ browser }) => {
  test.setTimeout(60_000);
  const customer = await as(browser, 'tech1@acme.example');
  const problems = watchForErrors(customer);
  const network = await cuttableNetwork(customer);
  const id = await openTicket(customer, 'The connection drops');
  await expectHydrated(customer);
  await expect(customer.locator('[data-live="true"]')).toHaveCount(1);
  await customer.evaluate(() => ((window as any).__portico_mark = 'still here'));

  await network.cut();
  await expect(customer.locator('[data-live="false"]')).toHaveCount(1);
  const before = network.attempts();
  // While it is down, support answers.
  const staff = await as(browser, 'agent@example.com');
  await staff.goto(`/staff/tickets/${id}`);
  await staff.getByLabel('Comment (Markdown)').fill('Posted while you were offline.');
  await staff.getByRole('button', { name: 'Save' }).click();
  await expect(staff.getByText('Comment added.')).toBeVisible();
  // The page keeps trying (with growing pauses) while the network is down…
  await expect.poll(() => network.attempts(), { timeout: 15_000 }).toBeGreaterThan(before + 1);
  // …and once it is back, catches up without a reload.
  network.restore();
  await expect(customer.locator('.comments li', { hasText: 'Posted while you were offline.' })).toHaveCount(1, {
    timeout: 25_000,
  });
  await expect(customer.locator('[data-live="true"]')).toHaveCount(1);
  await expect(customer.locator('.live-status')).toContainText('Open');
  expect(await customer.evaluate(() => (window as any).__portico_mark)).toBe('still here');
  // The server sent it once: the page said where it stood when it came back.
  expect(network.received.filter((m) => m.includes('Posted while you were offline.'))).toHaveLength(1);
  expect(problems).toEqual([]);
});

test('a page whose access ended while it was away stops trying', async ({ browser }) => {
  const customer = await as(browser, 'tech1@acme.example');
  const network = await cuttableNetwork(customer);
  await openTicket(customer, 'Signed out elsewhere');
  await expectHydrated(customer);
  await expect(customer.locator('[data-live="true"]')).toHaveCount(1);
  // The connection drops, and meanwhile the session ends (signed out in
  // another tab): the page's next attempt is refused and it gives up.
  await network.cut();
  await expect(customer.locator('[data-live="false"]')).toHaveCount(1);
  const refused = customer.waitForResponse((r) => /\/tickets\/\d+\/live$/.test(r.url()) && r.status() === 401);
  await customer.context().clearCookies();
  network.restore();
  await refused;
  await expect(customer.locator('[data-live-stopped="true"]')).toContainText('reload the page');
  const after = network.attempts();
  await customer.waitForTimeout(3_000);
  expect(network.attempts()).toBe(after);
});
