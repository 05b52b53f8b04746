import { expect, test } from '@playwright/test';
import { mailTo, processOrder, signIn } from './helpers';

/** Sets a password on the page a link opened. */
async function choosePassword(page: import('@playwright/test').Page, password: string) {
  await page.getByLabel('New password', { exact: true }).fill(password);
  await page.getByLabel('Confirm password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Set password' }).click();
}

test('a forgotten password is reset from the sign-in page by a link that arrives by mail @nojs', async ({ page, browser }, testInfo) => {
  const tag = testInfo.project.name.replace(/[^a-z]/g, '');
  const email = `rita.${tag}@reset.example`;
  await signIn(page, 'billing@example.com');
  await expect(page).toHaveURL(/\/staff$/);
  await processOrder(page, { org: `Resetters ${tag}`, mainName: 'Rita Reset', mainEmail: email });

  // Rita activates her account, then forgets her password.
  const context = await browser.newContext();
  const rita = await context.newPage();
  const welcome = await mailTo(email, 'Support Portal');
  await rita.goto(welcome.body.match(/https?:\/\/\S+\/activate\?token=[\w-]+/)![0]);
  await choosePassword(rita, 'rita remembers this one');
  await expect(rita).toHaveURL(/\/(support|billing)$/);
  await context.clearCookies();

  await rita.goto('/sign-in');
  await rita.getByRole('link', { name: 'Forgot your password?' }).click();
  await expect(rita.getByRole('heading', { level: 1, name: 'Forgot your password?' })).toBeVisible();
  await rita.getByLabel('Email').fill(email);
  await rita.getByRole('button', { name: 'Send the link' }).click();
  await expect(rita.getByRole('status')).toContainText('If an account uses that address');

  // The link arrives at the SMTP server; it opens the page to choose a new password.
  const mail = await mailTo(email, 'Choose a new Portico password');
  const link = mail.body.match(/https?:\/\/\S+\/activate\?token=[\w-]+&reset=1/)![0];
  await rita.goto(link);
  await expect(rita.getByRole('heading', { level: 1, name: 'Choose a new password' })).toBeVisible();
  await choosePassword(rita, 'rita chose a new one today');
  await expect(rita).toHaveURL(/\/(support|billing)$/);

  // The old password no longer works; the new one does; the link is spent.
  await context.clearCookies();
  await signIn(rita, email, 'rita remembers this one');
  await expect(rita.getByText('The e-mail address or password is not correct.')).toBeVisible();
  await signIn(rita, email, 'rita chose a new one today');
  await expect(rita).toHaveURL(/\/(support|billing)$/);
  await context.clearCookies();
  await rita.goto(link);
  await choosePassword(rita, 'a third password for rita');
  await expect(rita.getByText('This link cannot be used any more')).toBeVisible();
  await context.close();
});
