import { expect, test } from '@playwright/test';
import { signIn } from './helpers';

// Runs with JavaScript on and off: the filters are plain GET forms.
test('staff narrow the queue and the organization list by how a name starts @nojs', async ({ page, browser }) => {
  // Acme has a ticket to find.
  const customer = await (await browser.newContext({ javaScriptEnabled: false })).newPage();
  await signIn(customer, 'tech1@acme.example');
  await expect(customer).not.toHaveURL(/sign-in/);
  await customer.goto('/support/tickets/new');
  await customer.getByLabel('Subject').fill('Find me by organization');
  await customer.getByLabel('Description').fill('Listed under Acme.');
  await customer.getByRole('button', { name: 'Open ticket' }).click();
  await expect(customer).toHaveURL(/\/support\/tickets\/\d+/);

  await signIn(page, 'agent@example.com');
  await expect(page).not.toHaveURL(/sign-in/);
  await page.goto('/staff/tickets?queue=all');
  await expect(page.getByRole('link', { name: 'All, closed too' })).toHaveAttribute('aria-current', 'page');
  await page.getByLabel('Organization').fill('acm');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/organization=acm/);
  const rows = page.locator('table.table tbody tr');
  await expect(rows.first()).toBeVisible();
  for (const org of await rows.locator('td:nth-child(2)').allTextContents()) {
    expect(org).toBe('Acme Corp');
  }
  await expect(page.locator('.pager')).toContainText(/\d+ tickets?/);
  // Another queue keeps the filter.
  await page.getByRole('link', { name: 'All open' }).click();
  await expect(page).toHaveURL(/queue=open.*organization=acm/);
  await expect(page.getByLabel('Organization')).toHaveValue('acm');

  await page.getByLabel('Organization').fill('Nobody by that name');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page.getByRole('status')).toContainText("No organization's name starts with “Nobody by that name”");
  await expect(page.getByLabel('Organization')).toHaveValue('Nobody by that name');

  await page.goto('/staff');
  await page.getByLabel('Name').fill('glob');
  await page.getByRole('button', { name: 'Find' }).click();
  const orgs = page.locator('section[aria-labelledby="orgs-title"] tbody th');
  await expect(orgs).toHaveText(['Globex']);

  // From an organization's page to its queue, and back to every organization.
  await page.getByLabel('Name').fill('acme');
  await page.getByRole('button', { name: 'Find' }).click();
  await page.getByRole('link', { name: 'Acme Corp' }).click();
  await page.getByRole('link', { name: 'Open tickets' }).click();
  await expect(page).toHaveURL(/queue=open.*organization_id=\d+/);
  await expect(page.getByRole('group', { name: 'Organization' })).toContainText('Acme Corp');
  await expect(page.locator('table.table tbody tr').first()).toContainText('Acme Corp');
  await page.getByRole('link', { name: 'All organizations' }).click();
  await expect(page.getByLabel('Organization')).toHaveValue('');
});
