// Passkeys in a real browser, with Chromium's virtual authenticator (the DevTools protocol's
// WebAuthn domain: a platform authenticator that keeps discoverable credentials and verifies
// its user): sign up, confirm the address, add a passkey from the account page, log out, and
// log in with it from the log-in page, without the email or the password. The app must run
// with base_url at `localhost` (passkeys belong to a name); BASE_URL may say 127.0.0.1.
//
// usage: node passkeys.mjs BASE_URL MAIL_DIR EMAIL SCREENSHOT_PATH
import { consoleErrors, launchChromium, mailedLinks } from "./chromium.mjs";

const [url, mailDir, email, screenshot] = process.argv.slice(2);
const base = url.replace("127.0.0.1", "localhost");
const password = "correct horse battery staple";

// localhost is the server's loopback address, IPv4 (it listens there only).
const browser = await launchChromium(["--host-resolver-rules=MAP localhost 127.0.0.1"]);
let failed = false;
const page = await browser.newPage();
const errors = consoleErrors(page);
try {
  const expect = (ok, message) => {
    if (!ok) throw new Error(message);
  };
  const submit = (selector) => {
    console.log(`at ${page.url()}: ${selector}`);
    return Promise.all([page.waitForNavigation(), page.click(selector)]);
  };

  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });

  await page.goto(`${base}/auth/signup`);
  await page.fill("#email", email);
  await page.fill("#password", password);
  await submit("main button[type=submit]");
  await page.goto(`${base}/auth/login`);
  await page.fill("#email", email);
  await page.fill("#password", password);
  await submit("main form.card button[type=submit]");
  const link = mailedLinks(mailDir, email, /https?:\/\/\S+\/auth\/verify\?token=\S+/)[0];
  await page.goto(`${base}${link.pathname}${link.search}`);

  // Add a passkey from the account page (the password was given a moment ago).
  await page.goto(`${base}/account`);
  await submit("text=manage your passkeys");
  await page.fill("#passkey-name", "Virtual laptop");
  await submit("#passkey-add button[type=submit]");
  expect(
    (await page.inputValue("#passkeys input[name=name]")) === "Virtual laptop",
    `the passkey is listed: ${await page.textContent("main")}`,
  );
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  expect(credentials.length === 1 && credentials[0].isResidentCredential, "one discoverable credential");
  expect(credentials[0].rpId === "localhost", `for this site: ${credentials[0].rpId}`);

  // Log out; log in with the passkey only.
  await submit("header button[type=submit]");
  await page.goto(`${base}/auth/login?next=%2Faccount`);
  expect(await page.isVisible("#passkey-login"), "the log-in page offers passkeys");
  await submit("#passkey-login");
  expect(new URL(page.url()).pathname === "/account", `logged in, at next: ${page.url()}`);
  expect((await page.textContent("#account-email")) === email, "as the account");
  const after = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  expect(after.credentials[0].signCount >= 2, `the counter went up: ${after.credentials[0].signCount}`);

  // The same server at another name for it: the page says where passkeys work instead.
  await submit("header button[type=submit]");
  await page.goto(`${url}/auth/login`);
  await page.click("#passkey-login");
  await page.waitForFunction(() =>
    document.querySelector(".passkey-login [role=alert]").textContent.includes("Passkeys work at"),
  );
  expect(errors.length === 0, `console errors: ${errors.join(" | ")}`);
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  console.log("passkey browser test passed");
} catch (e) {
  console.error(e.message);
  // Where it stopped, and what the page said.
  const alerts = await page.$$eval("[role=alert]", (els) => els.map((el) => el.textContent.trim()));
  console.error(`at ${page.url()}; alerts: ${JSON.stringify(alerts)}; console: ${errors.join(" | ")}`);
  failed = true;
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
