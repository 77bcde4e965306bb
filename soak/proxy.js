// @ts-check
/**
 * A non-sticky load balancer on loopback: each request goes to the next instance in turn
 * (round robin per request, not per connection, so that one browser's requests alternate
 * between the instances), with its method, path, headers (Host, Cookie) and body; the
 * instance's status, headers (Set-Cookie, Location) and body come back unchanged. An instance
 * that cannot be reached is a 502; one that does not answer within `timeoutMs`, a 504.
 */
import { Agent, createServer, request as httpRequest } from 'node:http';

/**
 * @typedef {object} Proxy
 * @property {number} port
 * @property {Record<string, Record<string, number>>} answered answers by instance port and status (`502`, `504` for the proxy's own)
 * @property {() => Promise<void>} close
 */

/**
 * Starts the proxy on 127.0.0.1:`port` in front of the instances on `targets` (their ports).
 *
 * @param {object} options
 * @param {number} options.port
 * @param {number[]} options.targets
 * @param {number} [options.timeoutMs] default 30 s
 * @returns {Promise<Proxy>}
 */
export function startProxy({ port, targets, timeoutMs = 30_000 }) {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  /** @type {Record<string, Record<string, number>>} */
  const answered = {};
  let next = 0;

  /**
   * @param {number} target
   * @param {number} status
   */
  function count(target, status) {
    const byStatus = (answered[target] ??= {});
    byStatus[status] = (byStatus[status] ?? 0) + 1;
  }

  const server = createServer((req, res) => {
    const target = /** @type {number} */ (targets[next++ % targets.length]);
    let done = false;
    /** @param {number} status */
    const fail = (status) => {
      if (done) return;
      done = true;
      count(target, status);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res.writeHead(status, { 'content-type': 'text/plain' }).end(`${status === 504 ? 'Gateway Timeout' : 'Bad Gateway'}: instance on port ${target}\n`);
    };
    const upstream = httpRequest({
      host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers, agent,
    }, (answer) => {
      done = true;
      count(target, answer.statusCode ?? 0);
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.setTimeout(timeoutMs, () => {
      fail(504);
      upstream.destroy();
    });
    upstream.on('error', () => fail(502));
    req.pipe(upstream);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve({
      port,
      answered,
      close: () => new Promise((closed) => {
        server.closeAllConnections();
        server.close(() => closed());
        agent.destroy();
      }),
    }));
  });
}
