/**
 * Runs `example-app/server.js` (what `npm start` runs) in its own Node.js process, as a user
 * would, for tests that need a fresh process: the quick start itself, and environment read at
 * start-up such as NODE_EXTRA_CA_CERTS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { freePort } from './http-server.js';

const serverScript = fileURLToPath(new URL('../../example-app/server.js', import.meta.url));

export interface ExampleProcess {
  baseURL: string;
  /** Everything the process printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts the example app on a free port and waits until it listens.
 *
 * @param env - variables over this process's environment; `undefined` removes one. ISSUER and
 *   NODE_OPTIONS (jest's flags) are removed unless given.
 */
export async function startExampleProcess(env: Record<string, string | undefined> = {}): Promise<ExampleProcess> {
  const port = await freePort();
  const merged: NodeJS.ProcessEnv = { ...process.env, ISSUER: undefined, NODE_OPTIONS: undefined, PORT: String(port), ...env };
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  const child: ChildProcess = spawn(process.execPath, [serverScript], { env: merged, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => { output += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { output += c.toString(); });
  const deadline = Date.now() + 15000;
  while (!output.includes('Example app at')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the example app did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    baseURL: `http://localhost:${port}`,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
