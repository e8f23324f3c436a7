// A local OpenID provider for Reprise's single sign-on: panva's oidc-provider (OpenID Certified),
// configured with one confidential client and people described by their claims. The API tests
// start it on a free loopback port; `scripts/dev-oidc.sh` starts it for trying SSO by hand.
//
// Nobody types a password here: the interaction signs in the address the relying party passed as
// `login_hint` (Reprise passes the address typed on its sign-in page) and grants the requested
// scopes at once. Claims come from the accounts posted to `/test/accounts`, or are made up from
// the address.
//
// Test hooks, for the checks a well-behaved provider never fails: `POST /test/tamper` with
// `{"mode": …}` changes the next ID tokens the token endpoint returns, re-signed with the
// provider's own key so only the altered part is wrong: `audience`, `expired`, `nonce`,
// `unsigned` (alg none), `rotated` (signed with a second key that only a fresh JWKS lists), or
// `none` to stop.
//
// Environment: OIDC_PORT (0 picks a free one), OIDC_CLIENT_ID, OIDC_CLIENT_SECRET,
// OIDC_REDIRECT_URI. Prints `READY <issuer>` once it listens.

import http from 'node:http';
import { generateKeyPair, exportJWK, SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT ?? 0);
const clientId = process.env.OIDC_CLIENT_ID ?? 'reprise';
const clientSecret = process.env.OIDC_CLIENT_SECRET ?? 'reprise-local-secret';
const redirectUri = process.env.OIDC_REDIRECT_URI ?? 'http://localhost:8080/api/v1/auth/sso/callback';

async function signingKey(kid) {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { privateKey, jwk: { ...jwk, kid, alg: 'RS256', use: 'sig' } };
}

const current = await signingKey('first');
const spare = await signingKey('second');
const publicPart = ({ kty, n, e, kid, alg, use }) => ({ kty, n, e, kid, alg, use });

/** People by e-mail address: their claims. */
const accounts = new Map();
let tamper = 'none';
let rotated = false;

function claimsOf(email) {
  const known = accounts.get(email) ?? {};
  const local = email.split('@')[0] ?? email;
  return {
    sub: known.sub ?? email,
    email,
    email_verified: true,
    name: known.name ?? local,
    ...(known.role ? { reprise_role: known.role } : {}),
    ...(known.groups ? { groups: known.groups } : {}),
  };
}

const server = http.createServer();
await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [current.jwk] },
  // Claims go into the ID token itself, which is all Reprise reads.
  conformIdTokenClaims: false,
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'reprise_role', 'groups'],
  },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(_ctx, sub) {
    return { accountId: sub, claims: () => claimsOf(sub) };
  },
});
provider.proxy = false;

// Alters the ID token of a token response as the test asked.
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path === '/jwks' && rotated && ctx.body?.keys) {
    ctx.body = { keys: [...ctx.body.keys, publicPart(spare.jwk)] };
  }
  if (ctx.path !== '/token' || tamper === 'none' || !ctx.body?.id_token) return;
  const claims = decodeJwt(ctx.body.id_token);
  const { kid } = decodeProtectedHeader(ctx.body.id_token);
  let key = current.privateKey;
  let keyId = kid;
  switch (tamper) {
    case 'audience': claims.aud = 'someone-else'; break;
    case 'expired': claims.iat -= 7200; claims.exp = Math.floor(Date.now() / 1000) - 3600; break;
    case 'nonce': claims.nonce = 'not-the-one-sent'; break;
    case 'rotated': key = spare.privateKey; keyId = spare.jwk.kid; rotated = true; break;
    case 'unsigned': {
      const part = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
      ctx.body = { ...ctx.body, id_token: `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.` };
      return;
    }
    default: return;
  }
  const token = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: keyId }).sign(key);
  ctx.body = { ...ctx.body, id_token: token };
});

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString() || '{}');
}

const callback = provider.callback();
server.on('request', async (req, res) => {
  try {
    if (req.method === 'POST' && req.url === '/test/accounts') {
      for (const [email, claims] of Object.entries(await readJson(req))) accounts.set(email, claims);
      res.writeHead(204).end();
      return;
    }
    if (req.method === 'POST' && req.url === '/test/tamper') {
      tamper = (await readJson(req)).mode ?? 'none';
      res.writeHead(204).end();
      return;
    }
    if (req.url.startsWith('/interaction/')) {
      const { params, session } = await provider.interactionDetails(req, res);
      const accountId = session?.accountId ?? params.login_hint;
      if (!accountId) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('start with a login_hint');
        return;
      }
      const grant = new provider.Grant({ accountId, clientId: params.client_id });
      grant.addOIDCScope(params.scope);
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { login: { accountId }, consent: { grantId } });
      return;
    }
    callback(req, res);
  } catch (error) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
  }
});

process.stdout.write(`READY ${issuer}\n`);
