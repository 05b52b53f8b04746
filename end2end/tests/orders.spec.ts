import { expect, test } from '@playwright/test';
import { expectHydrated, mailTo, processOrder, signIn } from './helpers';

test('staff process an order; the Technical Contact activates from the e-mail and lands in the Support Portal @nojs', async ({ page, browser }, testInfo) => {
  const tag = testInfo.project.name.replace(/[^a-z]/g, '');
  const org = `Hooli ${tag}`;
  const techEmail = `gavin.${tag}@hooli.example`;

  await signIn(page, 'billing@example.com');
  await expect(page).toHaveURL(/\/staff$/);
  await page.getByRole('link', { name: 'Process an Order Form' }).click();
  await processOrder(page, {
    org,
    mainName: 'Richard Main',
    mainEmail: `richard.${tag}@hooli.example`,
    techName: 'Gavin Tech',
    techEmail,
  });
  await expect(page.getByRole('heading', { level: 1, name: org })).toBeVisible();
  await expect(page.getByRole('row', { name: /Gavin Tech/ })).toContainText('Invitation sent');

  // The Support Welcome arrives at the SMTP server with a working link.
  const mail = await mailTo(techEmail);
  expect(mail.subject).toContain('Support Portal');
  const link = mail.body.match(/https?:\/\/\S+\/activate\?token=[\w-]+/)![0];

  const context = await browser.newContext();
  const visitor = await context.newPage();
  await visitor.goto(link);
  // A refusal shows on the page beside its field, with JavaScript on and
  // off (the page sends no Referer: the form names where it comes back).
  await visitor.getByLabel('New password').fill('gavin has a long password');
  await visitor.getByLabel('Confirm password').fill('gavin has a different one');
  await visitor.getByRole('button', { name: 'Set password' }).click();
  await expect(visitor.getByText('The two passwords do not match.')).toBeVisible();
  await expect(visitor).toHaveURL(/\/activate\?token=/);
  await visitor.getByLabel('New password').fill('gavin has a long password');
  await visitor.getByLabel('Confirm password').fill('gavin has a long password');
  await visitor.getByRole('button', { name: 'Set password' }).click();
  await expect(visitor).toHaveURL(/\/support$/);
  await expect(visitor.getByRole('heading', { level: 1, name: 'Support Portal' })).toBeVisible();
  await expect(visitor.getByText(org).first()).toBeVisible();
  await context.close();
});

test('order validation shows what to fix, field by field', async ({ page }) => {
  await signIn(page, 'admin@example.com');
  // The island signs in, then loads the landing page: let that finish first.
  await expect(page).toHaveURL(/\/staff$/);
  await page.goto('/staff/orders/new');
  await expectHydrated(page);
  await page.getByLabel('Main Contact email').fill('not-an-email');
  await page.getByRole('button', { name: 'Process order' }).click();
  await expect(page.getByText('Please correct the')).toBeVisible();
  await expect(page.getByText('is not an e-mail address')).toBeVisible();
  await expect(page.getByText('Enter the organization name.')).toBeVisible();
  await expect(page).toHaveURL(/\/staff\/orders\/new/);
  // The form is an island: a refused order keeps what was typed.
  await expect(page.getByLabel('Main Contact email')).toHaveValue('not-an-email');
});

test('staff cancel a subscription only after confirming, then renew it @nojs', async ({ page }, testInfo) => {
  const tag = testInfo.project.name.replace(/[^a-z]/g, '');
  const org = `Pied Piper ${tag}`;
  await signIn(page, 'billing@example.com');
  await expect(page).toHaveURL(/\/staff$/);
  await processOrder(page, { org, mainName: 'Jared Main', mainEmail: `jared.${tag}@piedpiper.example` });
  const subscription = page.getByRole('region', { name: 'Subscription' });
  await expect(subscription.getByRole('note')).toHaveText('Active until 2027-12-31.');

  // Without the confirmation nothing changes, and the refusal shows beside the box.
  await subscription.getByText('Cancel subscription', { exact: true }).first().click();
  await page.getByLabel('Reason (sent to the Main Contact)').fill('Moved to another vendor');
  await page.getByRole('button', { name: 'Cancel subscription' }).click();
  await expect(page.getByText('Tick the box to confirm')).toBeVisible();
  await expect(subscription.getByRole('note')).toHaveText('Active until 2027-12-31.');

  await page.getByLabel('Reason (sent to the Main Contact)').fill('Moved to another vendor');
  await page.getByLabel('I understand: close the subscription now and e-mail the Main Contact').check();
  await page.getByRole('button', { name: 'Cancel subscription' }).click();
  await expect(page.getByRole('status')).toContainText('Subscription cancelled');
  await expect(subscription.getByRole('note')).toContainText('Cancelled');
  const mail = await mailTo(`jared.${tag}@piedpiper.example`, 'cancelled');
  expect(mail.body).toContain('Moved to another vendor');

  // A renewal starts today (the cancelled term no longer counts) and opens it again.
  await subscription.getByText('Renew', { exact: true }).click();
  await page.getByLabel('New term ends on').fill('2020-01-01');
  await page.getByRole('button', { name: 'Renew subscription' }).click();
  await expect(page.getByText('its end must come after that')).toBeVisible();
  await page.getByLabel('New term ends on').fill('2031-06-30');
  await page.getByRole('button', { name: 'Renew subscription' }).click();
  await expect(page.getByRole('status')).toContainText('Subscription renewed');
  await expect(subscription.getByRole('note')).toHaveText('Active until 2031-06-30.');
  await expect(subscription.getByRole('table', { name: 'All terms' })).toContainText('Cancelled');
});
