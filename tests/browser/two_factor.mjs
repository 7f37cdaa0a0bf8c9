// Two-factor authentication in a real browser: sign up, log in, confirm the address with the
// link from the mail, set it up from the account page (the QR code is drawn in the page; the key is
// read as text and turned into codes here, by this file's own RFC 6238 code, not torn's),
// see the recovery codes, log out, log in with the password, and give the code.
//
// usage: node two_factor.mjs BASE_URL MAIL_DIR EMAIL SCREENSHOT_PATH
import { consoleErrors, launchChromium, mailedLinks } from "./chromium.mjs";
import { createHmac } from "node:crypto";

const [base, mailDir, email, screenshot] = process.argv.slice(2);
const password = "correct horse battery staple";

// RFC 4648 base 32 to bytes.
function base32(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of text.replace(/[\s=]/g, "").toUpperCase()) {
    const v = alphabet.indexOf(c);
    if (v < 0) throw new Error(`not base 32: ${text}`);
    bits += v.toString(2).padStart(5, "0");
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

// RFC 6238 (HMAC-SHA-1, 30-second steps, 6 digits) at `ahead` seconds from now.
function totp(key, ahead = 0) {
  const step = Math.floor((Date.now() / 1000 + ahead) / 30);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", base32(key)).update(counter).digest();
  const at = mac[mac.length - 1] & 0xf;
  const n = (mac.readUInt32BE(at) & 0x7fffffff) % 1000000;
  return String(n).padStart(6, "0");
}

const browser = await launchChromium();
let failed = false;
try {
  const page = await browser.newPage();
  const errors = consoleErrors(page);
  const expect = (ok, message) => {
    if (!ok) throw new Error(message);
  };
  // Each click that submits, named in the output, so a failure says where it stopped.
  const submit = (selector) => {
    console.log(`at ${page.url()}: ${selector}`);
    return Promise.all([page.waitForNavigation(), page.click(selector)]);
  };

  await page.goto(`${base}/auth/signup`);
  await page.fill("#email", email);
  await page.fill("#password", password);
  await submit("main button[type=submit]");
  // Log in with the password (the sudo window opens), then confirm the address.
  await page.goto(`${base}/auth/login`);
  await page.fill("#email", email);
  await page.fill("#password", password);
  await submit("main button[type=submit]");
  const link = mailedLinks(mailDir, email, /https?:\/\/\S+\/auth\/verify\?token=\S+/)[0];
  await page.goto(`${base}${link.pathname}${link.search}`);

  await page.goto(`${base}/account`);
  await submit("text=Set it up");
  await submit("text=Set up two-factor authentication");
  expect(await page.isVisible(".qr svg"), "the QR code is in the page");
  const key = await page.textContent("#two-factor-secret");
  await page.fill("#code", totp(key));
  await submit("main button[type=submit]");
  const codes = await page.$$eval("#recovery-codes code", (cs) => cs.map((c) => c.textContent));
  expect(codes.length === 10, `ten recovery codes: ${codes}`);
  expect((await page.textContent("#two-factor-status")).includes("is on"), "it is on");

  // Log out, log in: the password leads to the code.
  await submit("header button[type=submit]");
  await page.goto(`${base}/auth/login?next=%2Faccount`);
  await page.fill("#email", email);
  await page.fill("#password", password);
  await submit("main button[type=submit]");
  expect(new URL(page.url()).pathname === "/auth/login/code", `asked for the code: ${page.url()}`);
  await page.fill("#code", totp(key, 30));
  await submit("main button[type=submit]");
  expect(new URL(page.url()).pathname === "/account", `logged in, at next: ${page.url()}`);
  expect((await page.textContent("#account-two-factor")).includes("10 recovery codes left"), "on");
  expect(errors.length === 0, `console errors: ${errors.join(" | ")}`);
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  console.log("two-factor browser test passed");
} catch (e) {
  console.error(e.message);
  failed = true;
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
