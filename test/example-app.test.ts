/**
 * The quick start, for real: `node example-app/server.js` (what `npm start` runs after the build)
 * in its own process, with its embedded development provider, signed into over HTTP.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Browser } from './support/browser.js';
import { signIn } from './support/testbed.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

let child: ChildProcess;
let output = '';
let baseURL: string;

beforeAll(async () => {
  const [port, providerPort] = [await freePort(), await freePort()];
  baseURL = `http://localhost:${port}`;
  const server = fileURLToPath(new URL('../example-app/server.js', import.meta.url));
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), DEV_PROVIDER_PORT: String(providerPort) };
  delete env.ISSUER;
  delete env.NODE_OPTIONS; // jest's --experimental-vm-modules is not for the app
  child = spawn(process.execPath, [server], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  const deadline = Date.now() + 15000;
  while (!output.includes('Example app at')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`example app did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
});

afterAll(async () => {
  if (child.exitCode === null) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
});

describe('the example app (npm start)', () => {
  test('starts its development provider and prints where both listen', () => {
    expect(output).toContain(`Example app at ${baseURL}`);
    expect(output).toMatch(/Development OpenID Provider at http:\/\/localhost:\d+/);
    expect(output).not.toContain('oidc-provider WARNING');
  });

  test('home page offers sign in; /profile and /api/me are guarded', async () => {
    const browser = new Browser();
    const home = await browser.request(`${baseURL}/`);
    expect(home.status).toBe(200);
    expect(home.body).toContain('href="/login"');
    expect((await browser.request(`${baseURL}/profile`)).headers.get('location')).toBe('/login?returnTo=%2Fprofile');
    expect((await browser.request(`${baseURL}/api/me`, { headers: { accept: 'application/json' } })).status).toBe(401);
  });

  test('a user signs in with any name, sees the claims, and signs out', async () => {
    const browser = new Browser();
    const profile = await signIn(browser, `${baseURL}/login?returnTo=%2Fprofile`, 'erin');
    expect(profile.url).toBe(`${baseURL}/profile`);
    expect(profile.body).toContain('&#34;email&#34;: &#34;erin@example.com&#34;');
    const me = await browser.request(`${baseURL}/api/me`, { headers: { accept: 'application/json' } });
    expect(JSON.parse(me.body)).toMatchObject({ sub: 'erin', name: 'erin', email: 'erin@example.com', email_verified: true });
    const logout = await browser.request(`${baseURL}/logout`);
    expect(logout.status).toBe(302);
    const after = await browser.request(`${baseURL}/profile`);
    expect(after.status).toBe(302);
    expect(after.headers.get('location')).toBe('/login?returnTo=%2Fprofile');
  });

  test('answers errors without a stack trace, escaped', async () => {
    const browser = new Browser();
    const res = await browser.request(`${baseURL}/callback?error=%3Cimg%20src%3Dx%3E&state=x`);
    expect(res.status).toBe(400);
    expect(res.body).not.toContain('<img');
    expect(res.body).not.toMatch(/\.js:\d+:\d+/);
  });
});
