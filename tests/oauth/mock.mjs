// An OpenID Connect provider for torn's tests that can be told to misbehave:
// oauth2-mock-server, plus a control port.
//
//   node mock.mjs PORT CONTROL_PORT
//
// Control (JSON bodies):
//   POST /profile {"sub", "email", "email_verified", "name"}  claims of every later ID token
//                                                              and userinfo answer
//   POST /once {"what": W}   the next flow misbehaves once, W one of:
//     access_denied  the authorization answer is error=access_denied
//     wrong_iss      the authorization answer carries iss= of another server (RFC 9207)
//     nonce | iss | aud | exp   the ID token's claim is wrong
//     alg_none       the ID token is unsigned (alg "none")
//     no_id_token    the token response has no ID token
//     token_error    the token endpoint answers invalid_grant
//     slow           the token endpoint answers after 3 s
//   GET /last-authorize      the query of the last authorization request
import http from "node:http";
import { OAuth2Server } from "oauth2-mock-server";

const [port, controlPort] = process.argv.slice(2).map(Number);
const server = new OAuth2Server();
await server.issuer.keys.generate("RS256");
const service = server.service;

let profile = { sub: "johndoe" };
let once = null;
let lastAuthorize = null;

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");

service.on("beforeAuthorizeRedirect", (redirect, req) => {
  lastAuthorize = Object.fromEntries(new URL(req.url, "http://x").searchParams);
  if (once === "access_denied") {
    redirect.url.searchParams.delete("code");
    redirect.url.searchParams.set("error", "access_denied");
    once = null;
  } else if (once === "wrong_iss") {
    redirect.url.searchParams.set("iss", "http://evil.example");
    once = null;
  }
});

service.on("beforeTokenSigning", (token) => {
  const isIdToken = !("scope" in token.payload);
  token.payload.sub = profile.sub;
  if (!isIdToken) return;
  Object.assign(token.payload, profile);
  const now = Math.floor(Date.now() / 1000);
  if (once === "nonce") token.payload.nonce = "not-the-nonce";
  if (once === "iss") token.payload.iss = "http://evil.example";
  if (once === "aud") token.payload.aud = "another-client";
  if (once === "exp") {
    token.payload.iat = now - 7200;
    token.payload.nbf = now - 7200;
    token.payload.exp = now - 3600;
  }
});

service.on("beforeResponse", (response) => {
  const body = response.body;
  if (once === "token_error") {
    response.statusCode = 400;
    response.body = { error: "invalid_grant", error_description: "code expired" };
  } else if (once === "alg_none" && body.id_token) {
    const payload = body.id_token.split(".")[1];
    body.id_token = `${b64({ alg: "none", typ: "JWT" })}.${payload}.`;
  } else if (once === "no_id_token") {
    delete body.id_token;
  }
  if (once !== "slow") once = null;
});

service.on("beforeUserinfo", (response) => {
  response.body = { ...profile };
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const provider = http.createServer(async (req, res) => {
  if (once === "slow" && req.url.startsWith("/token")) {
    once = null;
    await sleep(3000);
  }
  service.requestHandler(req, res);
});
await new Promise((resolve) => provider.listen(port, "127.0.0.1", resolve));
server.issuer.url = `http://127.0.0.1:${port}`;

const readJson = (req) =>
  new Promise((resolve, reject) => {
    let text = "";
    req.on("data", (chunk) => (text += chunk));
    req.on("end", () => {
      try {
        resolve(JSON.parse(text || "{}"));
      } catch (e) {
        reject(e);
      }
    });
  });

const control = http.createServer(async (req, res) => {
  try {
    if (req.method === "POST" && req.url === "/profile") {
      profile = await readJson(req);
    } else if (req.method === "POST" && req.url === "/once") {
      once = (await readJson(req)).what;
    } else if (req.method === "GET" && req.url === "/last-authorize") {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(lastAuthorize));
      return;
    } else {
      res.statusCode = 404;
    }
    res.end();
  } catch (e) {
    res.statusCode = 400;
    res.end(String(e));
  }
});
await new Promise((resolve) => control.listen(controlPort, "127.0.0.1", resolve));
console.log(`ready ${server.issuer.url}`);

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => process.exit(0));
}
