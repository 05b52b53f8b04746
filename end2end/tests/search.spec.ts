import { expect, test } from '@playwright/test';
import { signIn, watchForErrors } from './helpers';

// Runs with JavaScript on and off: search is a plain GET form.
test('a customer finds their ticket by a word of its conversation; staff find it and the organization @nojs', async ({ page, browser }) => {
  const problems = watchForErrors(page);
  const word = `heron${Date.now() % 100000}`;
  await signIn(page, 'tech1@acme.example');
  await expect(page).not.toHaveURL(/sign-in/);
  await page.goto('/support/tickets/new');
  await page.getByLabel('Subject').fill('Replica lags behind');
  await page.getByLabel('Description').fill(`The ${word} replica is an hour behind.`);
  await page.getByRole('button', { name: 'Open ticket' }).click();
  await expect(page).toHaveURL(/\/support\/tickets\/\d+/);
  const ticketUrl = new URL(page.url()).pathname;

  // From the header, as anywhere in the portal.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Search' }).click();
  await expect(page).toHaveURL(/\/support\/search$/);
  await expect(page.getByText('Type a few words to search your tickets.')).toBeVisible();
  await page.getByLabel('Search for').fill(word.toUpperCase());
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(new RegExp(`q=${word.toUpperCase()}`));
  const hit = page.getByRole('listitem').filter({ has: page.getByRole('link', { name: /Replica lags behind/ }) });
  // The index takes a moment to hear of the new ticket.
  await expect(async () => {
    await page.reload();
    await expect(hit).toBeVisible({ timeout: 500 });
  }).toPass({ timeout: 10_000 });
  await expect(hit.locator('mark')).toHaveText(word);
  await hit.getByRole('link', { name: /Replica lags behind/ }).click();
  await expect(page).toHaveURL(new RegExp(`${ticketUrl}$`));

  // Nothing found says so, and what to try.
  await page.goto('/support/search?q=zzqqxxnothing');
  await expect(page.getByText('Nothing found for “zzqqxxnothing”.')).toBeVisible();
  // A refusal is said beside its field, the words kept.
  await page.goto(`/support/search?q=${word}&page=99`);
  await expect(page.getByText('Results stop at page 50: add a word to narrow the search.')).toBeVisible();
  await expect(page.getByLabel('Search for')).toHaveValue(word);
  expect(problems).toEqual([]);

  // An agent finds the ticket, and the organization under its own tab.
  const staff = await (await browser.newContext({ javaScriptEnabled: false })).newPage();
  await signIn(staff, 'agent@example.com');
  await expect(staff).not.toHaveURL(/sign-in/);
  await staff.goto(`/staff/search?q=${word}`);
  await expect(staff.getByRole('link', { name: /Replica lags behind/ })).toHaveAttribute('href', /^\/staff\/tickets\/\d+$/);
  await staff.goto('/staff/search?q=acme');
  const tabs = staff.getByRole('navigation', { name: 'What to search' });
  await tabs.getByRole('link', { name: /^Organizations \(1\)$/ }).click();
  await expect(tabs.getByRole('link', { name: /^Organizations/ })).toHaveAttribute('aria-current', 'page');
  await expect(staff.getByRole('link', { name: /^Acme/ }).first()).toHaveAttribute('href', /^\/staff\/organizations\/\d+$/);
});
