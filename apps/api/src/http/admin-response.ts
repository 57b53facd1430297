import type { Response } from 'express';

/** APISIX identifies itself on every admin answer; Strait keeps the prefix tools look for. */
export const SERVER_HEADER = 'APISIX/3.18.0 (Strait 0.1.0)';

/**
 * Writes an admin answer as APISIX does: Content-Type application/json even for the few plain-text
 * bodies, and JSON followed by a newline.
 */
export function sendAdminJson(
  response: Response,
  status: number,
  body: Record<string, unknown> | unknown[] | string | undefined,
): void {
  response.status(status);
  response.setHeader('Content-Type', 'application/json');
  if (body === undefined) {
    response.end();
  } else if (typeof body === 'string') {
    response.end(body);
  } else {
    response.end(`${JSON.stringify(body)}\n`);
  }
}

/**
 * Makes Nest's own replies (controller return values, which Express sends with `res.json`) follow
 * the same APISIX format as sendAdminJson.
 */
export function adminResponseFormat(_request: unknown, response: Response, next: () => void): void {
  response.json = (body: unknown) => {
    sendAdminJson(response, response.statusCode, body as Record<string, unknown>);
    return response;
  };
  next();
}
