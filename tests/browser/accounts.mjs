// Accounts in a real browser: sign up, follow the emailed link, log out, log in, reach /account.
// The mail is read from the app's mail folder (dev and test write it there when no SMTP server
// is set); the link's path is opened in the same browser.
//
// usage: node accounts.mjs BASE_URL MAIL_DIR EMAIL SCREENSHOT_PATH
import { consoleErrors, launchChromium } from "./chromium.mjs";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const [base, mailDir, email, screenshot] = process.argv.slice(2);
const password = "correct horse battery staple";

function linkFor(address) {
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline) {
    let names = [];
    try {
      names = readdirSync(mailDir).filter((n) => n.endsWith(".txt"));
    } catch {}
    for (const name of names) {
      const text = readFileSync(join(mailDir, name), "utf8");
      if (text.startsWith(`To: ${address}\n`)) {
        const match = text.match(/https?:\/\/\S+\/auth\/verify\?token=\S+/);
        if (match) return new URL(match[0]);
      }
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
  throw new Error(`no verification mail for ${address} in ${mailDir}`);
}

const browser = await launchChromium();
let failed = false;
try {
  const page = await browser.newPage();
  const errors = consoleErrors(page);
  const expect = (ok, message) => {
    if (!ok) throw new Error(message);
  };

  await page.goto(`${base}/`);
  await Promise.all([page.waitForNavigation(), page.click("text=Sign up")]);
  await page.fill("#email", email);
  await page.fill("#password", password);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  expect(page.url().endsWith("/auth/check-email"), `after sign-up: ${page.url()}`);

  const link = linkFor(email);
  await page.goto(`${base}${link.pathname}${link.search}`);
  expect(
    (await page.textContent(".flash-success"))?.includes("Your email address is confirmed."),
    "the link confirmed the address",
  );

  // Not logged in yet: /account sends the browser to log in, and back afterwards.
  await page.goto(`${base}/account`);
  expect(page.url().includes("/auth/login?next=%2Faccount"), `redirected: ${page.url()}`);
  await page.fill("#email", email);
  await page.fill("#password", password);
  await Promise.all([page.waitForNavigation(), page.click("main button[type=submit]")]);
  expect(page.url().endsWith("/account"), `after log-in: ${page.url()}`);
  expect((await page.textContent("#account-email")) === email, "the account page shows the email");
  expect((await page.textContent("main")).includes("(confirmed)"), "the address is confirmed");

  // Log out from the header, then in again.
  await Promise.all([page.waitForNavigation(), page.click("header button[type=submit]")]);
  expect((await page.textContent(".flash-info"))?.includes("You are logged out."), "logged out");
  await page.goto(`${base}/auth/login`);
  await page.fill("#email", email);
  await page.fill("#password", password);
  await Promise.all([page.waitForNavigation(), page.click("main button[type=submit]")]);
  await page.goto(`${base}/account`);
  expect(page.url().endsWith("/account"), `logged in again: ${page.url()}`);
  expect(errors.length === 0, `console errors (CSP?): ${errors.join(" | ")}`);
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  console.log("accounts browser test passed");
} catch (e) {
  console.error(e.message);
  failed = true;
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
