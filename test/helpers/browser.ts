import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, findChromium } from './chromium.ts';

/**
 * The Chromium `npm test` found (CHROMIUM_PATH), or, when ava runs without
 * it, the one `findChromium()` finds now. Either way it is left in
 * process.env, so programs the test starts (mcp-remote's $BROWSER) use the
 * same one.
 */
export async function ensureChromium(): Promise<string> {
  const found = await findChromium();
  process.env.CHROMIUM_PATH = found.path;
  Object.assign(process.env, found.env);
  return found.path;
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: await ensureChromium(), args: CHROMIUM_ARGS });
}

export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 390, height: 844 };

/** A fresh browser profile (its own cookies); phone widths get a touch-screen device profile. */
export async function newPage(browser: Browser, viewport = DESKTOP): Promise<{ context: BrowserContext; page: Page }> {
  const phone = viewport.width < 600;
  const context = await browser.newContext({ viewport, ...(phone ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}) });
  return { context, page: await context.newPage() };
}

/** Signs in on /login the way a person does: type, click, land. */
export async function signIn(page: Page, baseUrl: string, person: { email: string; password: string }, next = '/admin'): Promise<void> {
  await page.goto(`${baseUrl}/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel('Email').fill(person.email);
  await page.getByLabel('Password').fill(person.password);
  await Promise.all([page.waitForURL((url) => url.pathname !== '/login'), page.getByRole('button', { name: 'Sign in' }).click()]);
}
