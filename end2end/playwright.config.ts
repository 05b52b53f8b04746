import { defineConfig } from '@playwright/test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// One Portico server for the whole run, on a fresh SQLite database with the demo data.
const port = Number(process.env.PORTICO_E2E_PORT ?? 3107);
const baseURL = `http://127.0.0.1:${port}`;
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(os.homedir(), '.cache/portico/target');
const serverBin = process.env.PORTICO_SERVER_BIN ?? path.join(targetDir, 'debug/server');
// The config is read by the runner and again by each worker: make one folder, shared through the environment.
const dataDir = (process.env.PORTICO_E2E_DATA_DIR ??= fs.mkdtempSync(path.join(os.tmpdir(), 'portico-e2e-')));
const siteRoot = path.resolve(__dirname, '../target/site');
// A real SMTP server (aiosmtpd) receives Portico's mail; tests read what arrived.
const smtpPort = Number(process.env.PORTICO_E2E_SMTP_PORT ?? 3125);
const mailDir = path.join(dataDir, 'mail');
process.env.PORTICO_E2E_MAIL_DIR = mailDir;

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  projects: [
    { name: 'js', use: { javaScriptEnabled: true } },
    // The same forms with JavaScript off: plain HTML form posts.
    { name: 'no-js', use: { javaScriptEnabled: false }, grep: /@nojs/ },
  ],
  webServer: [
    {
      command: `/usr/bin/python3 "${path.resolve(__dirname, '../server/tests/smtp_sink.py')}" 127.0.0.1 ${smtpPort} "${mailDir}"`,
      port: smtpPort,
      reuseExistingServer: false,
      timeout: 30_000,
    },
    {
      command: `"${serverBin}" --demo --bind 127.0.0.1:${port} --base-url ${baseURL} --data-dir "${dataDir}" --database-url "sqlite://${dataDir}/portico.db?mode=rwc" --site-root "${siteRoot}" --smtp-host 127.0.0.1 --smtp-port ${smtpPort} --smtp-security none --mail-poll-seconds 1 --dashboard-refresh-seconds 1 serve`,
      url: `${baseURL}/healthz`,
      reuseExistingServer: false,
      timeout: 120_000,
      stdout: 'ignore',
      stderr: 'pipe',
    },
  ],
});
