// Accounts in a real browser: sign up, follow the emailed link, log out, log in, reach /account.
// The mail is read from the app's mail folder (dev and test write it there when no SMTP server
// is set); the link's path is opened in the same browser.
//
// With LINK_LABEL, the account page's "Link <label>" button (a form POST that the app answers
// with a redirect to the provider, which the page's CSP form-action must allow) links the
// provider, and the browser comes back to /account.
//
// usage: node accounts.mjs BASE_URL MAIL_DIR EMAIL SCREENSHOT_PATH [LINK_LABEL]
import { consoleErrors, launchChromium, mailedLinks } from "./chromium.mjs";

const [base, mailDir, email, screenshot, linkLabel] = process.argv.slice(2);
const password = "correct horse battery staple";

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

  // The link confirms the address for the account logged in: it asks for the log-in first,
  // then comes back.
  const link = mailedLinks(mailDir, email, /https?:\/\/\S+\/auth\/verify\?token=\S+/)[0];
  await page.goto(`${base}${link.pathname}${link.search}`);
  expect(page.url().includes("/auth/login?next=%2Fauth%2Fverify"), `to log in: ${page.url()}`);
  await page.fill("#email", email);
  await page.fill("#password", password);
  await Promise.all([page.waitForNavigation(), page.click("main button[type=submit]")]);
  expect(
    (await page.textContent(".flash-success"))?.includes("Your email address is confirmed."),
    "the link confirmed the address",
  );
  await Promise.all([page.waitForNavigation(), page.click("header button[type=submit]")]);

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
  if (linkLabel) {
    // Out to the provider and back to /account.
    const seen = [];
    page.on("request", (request) => seen.push(request.url()));
    const back = page
      .waitForURL(
        (url) => url.href === `${base}/account` && seen.some((u) => u.includes("/authorize")),
        { timeout: 15000 },
      )
      .then(
        () => null,
        (e) => e,
      );
    await page.click(`text=Link ${linkLabel}`);
    const failure = await back;
    if (failure) {
      throw new Error(
        `not back from the provider (${failure.message.split("\n")[0]}); ` +
          `requests: ${seen.join(" ")}; console: ${errors.join(" | ")}`,
      );
    }
    const providers = await page.textContent(".providers");
    expect(providers.includes(`${linkLabel} (linked as`), `linked: ${providers}`);
  }
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
