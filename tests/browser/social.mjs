// Social log-in in a real browser: from /account (not logged in) to the log-in page, click
// "Log in with …", come back from the provider logged in, on /account, with the provider
// linked. The provider is oauth2-mock-server, which signs the person in at once.
//
// usage: node social.mjs BASE_URL EMAIL LABEL SCREENSHOT_PATH
import { consoleErrors, launchChromium } from "./chromium.mjs";

const [base, email, label, screenshot] = process.argv.slice(2);

const browser = await launchChromium();
let failed = false;
try {
  const page = await browser.newPage();
  const errors = consoleErrors(page);
  const expect = (ok, message) => {
    if (!ok) throw new Error(message);
  };

  await page.goto(`${base}/account`);
  expect(page.url().includes("/auth/login?next=%2Faccount"), `redirected: ${page.url()}`);
  await Promise.all([
    page.waitForURL(`${base}/account`),
    page.click(`text=Log in with ${label}`),
  ]);
  expect((await page.textContent("#account-email")) === email, "logged in as the provider's person");
  const providers = await page.textContent(".providers");
  expect(providers.includes(`${label} (linked as ${email})`), `linked: ${providers}`);
  expect(errors.length === 0, `console errors (CSP?): ${errors.join(" | ")}`);
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  console.log("social log-in browser test passed");
} catch (e) {
  console.error(e.message);
  failed = true;
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
