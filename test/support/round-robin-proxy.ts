/**
 * A load balancer without sticky sessions, for multi-instance tests: each request goes to the
 * next of its targets in turn (round robin), so that the browser talks to one origin and
 * concurrent requests of one session land on different instances. Requests and answers are
 * passed through as they are (method, path, headers, body), over real HTTP.
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';

/** A proxy request handler, with how many requests each target got. */
export interface RoundRobinProxy {
  (req: IncomingMessage, res: ServerResponse): void;
  /** Requests passed to each target, in the order the targets were given. */
  readonly served: number[];
}

/**
 * A request handler that passes each request to the next of `targets` (`http://host:port`).
 * A target that cannot be reached is a 502.
 */
export function roundRobinProxy(targets: readonly string[]): RoundRobinProxy {
  let next = 0;
  const served = targets.map(() => 0);
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const index = next;
    next = (next + 1) % targets.length;
    served[index]! += 1;
    const target = new URL(req.url ?? '/', targets[index]);
    const forwarded = httpRequest(target, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
      answer.pipe(res);
    });
    forwarded.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('the instance could not be reached');
    });
    req.pipe(forwarded);
  };
  return Object.assign(handler, { served });
}
