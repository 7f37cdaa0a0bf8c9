// Log-in links in a real browser: sign up, then "Email me a log-in link" from the log-in page;
// the link from the mail logs this browser in at once. A second link, opened in another
// browser (a context with its own cookies), asks "Log in as …?" first, and logs in on the
// click. The mail is read from the app's mail folder.
//
// usage: node magic_link.mjs BASE_URL MAIL_DIR EMAIL SCREENSHOT_PATH
import { consoleErrors, launchChromium, mailedLinks } from "./chromium.mjs";

const [base, mailDir, email, screenshot] = process.argv.slice(2);
const password = "correct horse battery staple";
const LINK = /https?:\/\/\S+\/auth\/login\/link\/open\?token=\S+/;

const browser = await launchChromium();
let failed = false;
try {
  const page = await browser.newPage();
  const errors = consoleErrors(page);
  const expect = (ok, message) => {
    if (!ok) throw new Error(message);
  };

  await page.goto(`${base}/auth/signup`);
  await page.fill("#email", email);
  await page.fill("#password", password);
  await Promise.all([page.waitForNavigation(), page.click("main button[type=submit]")]);
  expect(page.url().endsWith("/auth/check-email"), `after sign-up: ${page.url()}`);

  // From the log-in page, ask for a link.
  const ask = async (p) => {
    await p.goto(`${base}/auth/login`);
    await Promise.all([p.waitForNavigation(), p.click("text=Email me a log-in link")]);
    await p.fill("#email", email);
    await Promise.all([p.waitForNavigation(), p.click("main button[type=submit]")]);
    expect(p.url().endsWith("/auth/check-email"), `after asking: ${p.url()}`);
  };
  await ask(page);
  const [first] = mailedLinks(mailDir, email, LINK, 1);
  await page.goto(`${base}${first.pathname}${first.search}`);
  expect(new URL(page.url()).pathname === "/", `after the link: ${page.url()}`);
  expect(
    (await page.textContent(".flash-success"))?.includes("You are logged in"),
    "the link logged this browser in",
  );
  await page.goto(`${base}/account`);
  expect(page.url().endsWith("/account"), `the account page: ${page.url()}`);
  expect((await page.textContent("main")).includes("(confirmed)"), "the link confirmed the address");
  await Promise.all([page.waitForNavigation(), page.click("header button[type=submit]")]);

  // A second link, opened in another browser: it asks first.
  await ask(page);
  const second = mailedLinks(mailDir, email, LINK, 2).find((l) => l.href !== first.href);
  const other = await browser.newContext();
  const phone = await other.newPage();
  const phoneErrors = consoleErrors(phone);
  await phone.goto(`${base}${second.pathname}${second.search}`);
  expect(
    (await phone.textContent("h1"))?.includes(`Log in as ${email}?`),
    `the other browser is asked: ${await phone.textContent("main")}`,
  );
  await Promise.all([phone.waitForNavigation(), phone.click("main button[type=submit]")]);
  await phone.goto(`${base}/account`);
  expect(phone.url().endsWith("/account"), `the other browser is logged in: ${phone.url()}`);
  expect(errors.length === 0 && phoneErrors.length === 0, `console errors: ${errors.concat(phoneErrors).join(" | ")}`);
  if (screenshot) await phone.screenshot({ path: screenshot, fullPage: true });
  console.log("magic link browser test passed");
} catch (e) {
  console.error(e.message);
  failed = true;
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
