import { expect, test } from '@playwright/test';
import { expectHydrated, signIn, watchForErrors } from './helpers';

const mainNav = (page) => page.getByRole('navigation', { name: 'Main' });

test('staff sign in and see the Staff Console navigation @nojs', async ({ page, javaScriptEnabled }) => {
  const problems = watchForErrors(page);
  await page.goto('/sign-in');
  if (javaScriptEnabled) await expectHydrated(page);
  await signIn(page, 'admin@example.com');
  await expect(page).toHaveURL(/\/staff$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Staff Console' })).toBeVisible();
  const nav = mainNav(page);
  await expect(nav.getByRole('link', { name: 'Staff' })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'Account' })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'Support' })).toHaveCount(0);
  await expect(nav.getByRole('link', { name: 'Billing' })).toHaveCount(0);
  await expect(page.getByRole('row', { name: /Acme Corp/ })).toBeVisible();
  expect(problems).toEqual([]);
});

test('a Technical Contact lands in the Support Portal @nojs', async ({ page }) => {
  await signIn(page, 'tech1@acme.example');
  await expect(page).toHaveURL(/\/support$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Support Portal' })).toBeVisible();
  await expect(page.getByText('Acme Corp').first()).toBeVisible();
  const nav = mainNav(page);
  await expect(nav.getByRole('link', { name: 'Support' })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'Billing' })).toHaveCount(0);
  await expect(nav.getByRole('link', { name: 'Staff' })).toHaveCount(0);
});

test('a Main Contact lands in the Billing Portal; a sole contact gets both portals @nojs', async ({ page }) => {
  await signIn(page, 'main@acme.example');
  await expect(page).toHaveURL(/\/billing$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Billing Portal' })).toBeVisible();
  await expect(page.getByRole('row', { name: /Tomas Tech/ })).toBeVisible();
  await expect(mainNav(page).getByRole('link', { name: 'Support' })).toHaveCount(0);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/sign-in/);
  await signIn(page, 'main@globex.example');
  await expect(page).toHaveURL(/\/support$/);
  const nav = mainNav(page);
  await expect(nav.getByRole('link', { name: 'Support' })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'Billing' })).toBeVisible();
});

test('a wrong password shows one clear message and signs nobody in @nojs', async ({ page }) => {
  await signIn(page, 'agent@example.com', 'not-my-password');
  await expect(page.getByRole('alert')).toContainText('e-mail address or password is not correct');
  await expect(page).toHaveURL(/\/sign-in/);
  await page.goto('/staff');
  await expect(page).toHaveURL(/\/sign-in\?next=\/staff/);
});

test('sign out ends the session and private pages send you to sign in @nojs', async ({ page }) => {
  await signIn(page, 'agent@example.com');
  await expect(page).toHaveURL(/\/staff$/);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/sign-in/);
  await expect(mainNav(page).getByRole('link', { name: 'Sign in' })).toBeVisible();
  await page.goto('/staff');
  await expect(page).toHaveURL(/\/sign-in\?next=\/staff/);
  // Coming back after signing in.
  await page.getByLabel('Email').fill('agent@example.com');
  await page.getByLabel('Password').fill('portico-demo');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/staff$/);
});

test('the page hydrates without policy violations and has landmarks', async ({ page }) => {
  const problems = watchForErrors(page);
  await page.goto('/');
  await expectHydrated(page);
  await expect(page.getByRole('main')).toBeVisible();
  await expect(page.getByRole('banner')).toBeVisible();
  await expect(page.getByRole('contentinfo')).toBeVisible();
  await page.goto('/no-such-page');
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
  expect(problems).toEqual([]);
});
