/**
 * Express error handlers for tests that build their own app: each answers the error's status
 * with its `code` and `message` as JSON, so a test can assert both.
 */
import type { NextFunction, Request, Response } from 'express';

type AnyError = { status?: number; code?: string; message: string };

export function errorAsJson(err: AnyError, _req: Request, res: Response, _next: NextFunction): void {
  res.status(err.status ?? 500).json({ code: err.code, message: err.message });
}

/** {@link errorAsJson}, a 5xx `console.error()`ed first, as a real app would log it. */
export function errorAsJsonLogged(err: AnyError, req: Request, res: Response, next: NextFunction): void {
  if ((err.status ?? 500) >= 500) console.error(err);
  errorAsJson(err, req, res, next);
}
