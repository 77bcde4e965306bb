/**
 * An Express error handler for tests that build their own app: answers the error's status with
 * its `code` and `message` as JSON, so a test can assert both.
 */
import type { NextFunction, Request, Response } from 'express';

export function errorAsJson(err: { status?: number; code?: string; message: string }, _req: Request, res: Response, _next: NextFunction): void {
  res.status(err.status ?? 500).json({ code: err.code, message: err.message });
}
