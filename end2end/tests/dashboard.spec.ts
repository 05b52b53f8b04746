import { expect, test } from '@playwright/test';
import { expectHydrated, signIn, watchForErrors } from './helpers';

// Runs with JavaScript on and off: the charts are SVG drawn on the server.
test('staff read the support and business dashboards, charts and tables, by period @nojs', async ({ page, browser }) => {
  const problems = watchForErrors(page);
  // A ticket opened today, for the charts to show.
  const customer = await (await browser.newContext({ javaScriptEnabled: false })).newPage();
  await signIn(customer, 'tech1@acme.example');
  await expect(customer).not.toHaveURL(/sign-in/);
  await customer.goto('/support/tickets/new');
  await customer.getByLabel('Subject').fill('Charted on the dashboard');
  await customer.getByLabel('Description').fill('Counted among today\'s opened tickets.');
  await customer.getByRole('button', { name: 'Open ticket' }).click();
  await expect(customer).toHaveURL(/\/support\/tickets\/\d+/);
  // The test server keeps figures for a second; a view computes them past two.
  await page.waitForTimeout(2_100);

  await signIn(page, 'admin@example.com');
  await expect(page).not.toHaveURL(/sign-in/);
  await page.goto('/staff');
  const support = page.getByRole('region', { name: 'Support', exact: true });
  await expect(support.getByRole('link', { name: 'Last 30 days' })).toHaveAttribute('aria-current', 'page');
  // Its bars lead to the tickets they count.
  const flow = support.getByRole('group', { name: /Tickets opened and solved per day/ });
  await expect(flow).toBeVisible();
  const bar = flow.getByRole('link', { name: /^\d\d-\d\d: \d+ opened$/ }).last();
  await expect(bar).toHaveAttribute('href', /\/staff\/tickets\?queue=all&opened=\d{4}-\d\d-\d\d$/);
  await expect(support.getByRole('img', { name: /Open tickets at the end of each day/ })).toBeVisible();
  await expect(support.getByRole('table', { name: 'Response and resolution times' })).toBeVisible();
  await expect(support.getByRole('link', { name: 'Download response times (CSV)' })).toHaveAttribute(
    'href',
    '/staff/figures.csv?table=response-times&period=30d',
  );
  await support.getByRole('link', { name: 'Last 90 days' }).click();
  await expect(page).toHaveURL(/period=90d/);
  await expect(page.getByRole('group', { name: /Tickets opened and solved per week/ })).toBeVisible();
  const business = page.getByRole('region', { name: 'Business', exact: true });
  await expect(business.getByRole('table', { name: 'Renewals due' })).toContainText('Within 30 days');
  await expect(business.getByRole('table', { name: 'Awaiting the customer\'s answer' })).toBeVisible();
  expect(problems).toEqual([]);

  // A support agent sees support, not business; a billing clerk the reverse.
  const agent = await browser.newContext({ javaScriptEnabled: false });
  const agentPage = await agent.newPage();
  await signIn(agentPage, 'agent@example.com');
  await expect(agentPage).not.toHaveURL(/sign-in/);
  await agentPage.goto('/staff');
  await expect(agentPage.getByRole('region', { name: 'Support', exact: true })).toBeVisible();
  await expect(agentPage.getByRole('region', { name: 'Business', exact: true })).toHaveCount(0);
  await agent.close();

  // A day's bar opens that day's tickets, the filter shown and removable.
  await page.goto('/staff?period=7d');
  await page
    .getByRole('group', { name: /Tickets opened and solved per day/ })
    .getByRole('link', { name: /^\d\d-\d\d: \d+ opened$/ })
    .last()
    .click();
  await expect(page).toHaveURL(/\/staff\/tickets\?queue=all&opened=/);
  await expect(page.getByRole('group', { name: 'Opened' })).toContainText('(UTC)');
  await expect(page.getByRole('link', { name: /Charted on the dashboard/ }).first()).toBeVisible();
  await page.getByRole('link', { name: 'Any time' }).click();
  await expect(page.getByRole('group', { name: 'Opened' })).toHaveCount(0);
});

test('the open-ticket count on the staff dashboard follows a ticket opened elsewhere', async ({ page, browser }) => {
  await signIn(page, 'agent@example.com');
  await expect(page).not.toHaveURL(/sign-in/);
  await page.goto('/staff');
  await expectHydrated(page);
  const open = page.locator('[data-live="open"]');
  const before = await open.textContent();

  const customer = await (await browser.newContext()).newPage();
  await signIn(customer, 'tech2@acme.example');
  await expect(customer).not.toHaveURL(/sign-in/);
  await customer.goto('/support/tickets/new');
  await customer.getByLabel('Subject').fill('Counted on the dashboard');
  await customer.getByLabel('Description').fill('Opened while an agent watches the dashboard.');
  await customer.getByRole('button', { name: 'Open ticket' }).click();
  await expect(customer).toHaveURL(/\/support\/tickets\/\d+/);

  // No reload: the page reads the live numbers again by itself.
  await expect(open).not.toHaveText(before ?? '', { timeout: 25_000 });
});
