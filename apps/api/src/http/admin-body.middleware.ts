import type { NextFunction, Request, Response } from 'express';
import { findExcessiveNesting } from '../common/json-nesting';
import { cjsonErrorMessage } from './cjson-error';
import { sendAdminJson } from './admin-response';

/** APISIX's client_max_body_size for the admin API: 1.5 MiB. */
export const MAX_ADMIN_BODY_BYTES = 1572864;

/**
 * Reads admin request bodies the way APISIX does: the Content-Type is ignored and the body is
 * always JSON; an empty body is "no body" (undefined), which the handlers turn into APISIX's own
 * messages. Bodies over the limit are refused without being buffered.
 */
export function adminBodyMiddleware(
  request: Request,
  response: Response,
  next: NextFunction,
): void {
  if (request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS') {
    next();
    return;
  }
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > MAX_ADMIN_BODY_BYTES) {
    refuseOversized(request, response, declared);
    return;
  }
  const chunks: Buffer[] = [];
  let received = 0;
  let refused = false;
  request.on('data', (chunk: Buffer) => {
    if (refused) return;
    received += chunk.length;
    if (received > MAX_ADMIN_BODY_BYTES) {
      refused = true;
      refuseOversized(request, response, received);
      return;
    }
    chunks.push(chunk);
  });
  request.on('error', () => undefined);
  request.on('end', () => {
    if (refused) return;
    const body = Buffer.concat(chunks);
    const raw = body.toString('utf8');
    if (raw.trim() === '') {
      request.body = undefined;
      next();
      return;
    }
    const nestingError = findExcessiveNesting(raw);
    if (nestingError !== undefined) {
      sendAdminJson(response, 400, {
        error_msg: `invalid request body: ${nestingError}`,
        req_body: raw,
      });
      return;
    }
    try {
      request.body = JSON.parse(raw, rejectPrototypeKeys);
    } catch (error) {
      // APISIX's words (lua-cjson's) where it would refuse the body too; ours otherwise.
      const message = cjsonErrorMessage(body) ?? (error as Error).message;
      sendAdminJson(response, 400, {
        error_msg: `invalid request body: ${message}`,
        req_body: raw,
      });
      return;
    }
    next();
  });
}

function refuseOversized(request: Request, response: Response, size: number): void {
  sendAdminJson(response, 400, {
    error_msg: `invalid request body: request size ${size} is greater than the maximum size ${MAX_ADMIN_BODY_BYTES} allowed`,
  });
  // Stop reading the rest of an oversized upload; the response is already on its way.
  request.unpipe();
  request.resume();
}

/**
 * `__proto__` as a JSON key is an own property after JSON.parse, but a later spread or merge would
 * turn it into a prototype change; no APISIX object uses such a key, so it is refused outright.
 * Numbers beyond the double range (Infinity) are refused too: JSON cannot store them.
 */
function rejectPrototypeKeys(key: string, value: unknown): unknown {
  if (key === '__proto__') throw new SyntaxError('the key "__proto__" is not allowed');
  // `1e400` parses as Infinity, passes `number` schemas, then is stored as JSON null.
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new SyntaxError(`the number at "${key}" is out of range`);
  }
  return value;
}
