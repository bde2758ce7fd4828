#!/usr/bin/env node
/**
 * A person at a browser, for programs that open one: point `BROWSER` at this
 * script and it opens the URL it is given in headless Chromium, signs in as
 * SIGN_IN_EMAIL / SIGN_IN_PASSWORD, clicks Allow, and lets the redirect reach
 * the program's own loopback callback. It writes what happened to
 * BROWSER_LOG (a file) when set, since the program that started it shows
 * nothing of its output.
 */
import { appendFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const url = process.argv[2];
const email = process.env.SIGN_IN_EMAIL;
const password = process.env.SIGN_IN_PASSWORD;

function note(line) {
  if (process.env.BROWSER_LOG) appendFileSync(process.env.BROWSER_LOG, `${new Date().toISOString()} ${line}\n`);
}

if (!url || !email || !password) {
  note('usage: BROWSER=browser.mjs with SIGN_IN_EMAIL and SIGN_IN_PASSWORD set; the URL is the only argument');
  process.exit(2);
}

// The test that points BROWSER here found the browser (test/helpers/chromium.ts) and set CHROMIUM_PATH.
if (!process.env.CHROMIUM_PATH) {
  note('CHROMIUM_PATH is not set: the test that starts this script sets it (see test/helpers/browser.ts)');
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH,
  // The same flags as test/helpers/chromium.ts (CHROMIUM_ARGS).
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
try {
  const page = await browser.newPage();
  const issuer = new URL(url).origin;
  note(`open ${new URL(url).pathname}`);
  await page.goto(url);
  if (await page.locator('input[name="email"]').count()) {
    await page.fill('input[name="email"]', email);
    await page.fill('input[name="password"]', password);
    await Promise.all([page.waitForLoadState('load'), page.click('button[type="submit"].primary')]);
    note(`signed in, now at ${new URL(page.url()).pathname}`);
  }
  const allow = page.locator('button[name="decision"][value="allow"]');
  if (await allow.count()) {
    // The Allow answer redirects off the issuer, to the program's callback.
    await Promise.all([page.waitForURL((next) => next.origin !== issuer, { timeout: 20_000 }), allow.click()]);
    await page.waitForLoadState('load');
  }
  const landed = new URL(page.url());
  note(`landed on ${landed.origin}${landed.pathname}`);
  if (landed.origin === issuer) {
    note(`stuck on the issuer: ${(await page.textContent('body'))?.replace(/\s+/g, ' ').slice(0, 300)}`);
    process.exitCode = 1;
  }
} catch (error) {
  note(`failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await browser.close();
  // The last line: whoever reads the log can wait for it instead of racing the redirect.
  note('browser closed');
}
