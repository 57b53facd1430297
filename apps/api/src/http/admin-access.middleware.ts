import type { NextFunction, Request, Response } from 'express';
import type { AdminKeyring } from '../settings/admin-keyring';
import type { AddressAllowList } from './address-allow-list';
import { SERVER_HEADER, sendAdminJson } from './admin-response';

const NGINX_FORBIDDEN_PAGE =
  '<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n<center><h1>403 Forbidden</h1></center>\r\n<hr><center>openresty</center>\r\n</body>\r\n</html>\r\n';

export interface AdminAccessOptions {
  allowList: AddressAllowList;
  keyring: AdminKeyring;
  cors: boolean;
  apiVersion: string;
}

/**
 * The gate in front of every admin path (/apisix/admin and /strait/v1), in APISIX's order:
 * allow_admin (nginx 403 page), CORS and its token-free OPTIONS answer, the token from `api_key`,
 * the X-API-KEY header or the X-API-KEY cookie, and the viewer role's read-only rule.
 */
export function createAdminAccessMiddleware(options: AdminAccessOptions) {
  return function adminAccess(request: Request, response: Response, next: NextFunction): void {
    response.setHeader('Server', SERVER_HEADER);
    if (!options.allowList.allows(request.socket.remoteAddress)) {
      response.status(403).setHeader('Content-Type', 'text/html');
      response.end(NGINX_FORBIDDEN_PAGE);
      return;
    }
    if (options.cors) {
      response.setHeader('Access-Control-Allow-Origin', '*');
      response.setHeader('Access-Control-Allow-Credentials', 'true');
      response.setHeader('Access-Control-Expose-Headers', '*');
      response.setHeader('Access-Control-Max-Age', '3600');
    }
    if (request.method === 'OPTIONS') {
      response.setHeader('Access-Control-Allow-Methods', 'POST, GET, PUT, OPTIONS, DELETE, PATCH');
      response.setHeader('Access-Control-Allow-Headers', '*');
      sendAdminJson(response, 200, undefined);
      return;
    }
    // Mounted under a prefix, request.path is relative to it: test the full path.
    if (
      request.method === 'HEAD' &&
      /^\/apisix\/admin\/?$/.test(request.originalUrl.split('?')[0])
    ) {
      sendAdminJson(response, 200, undefined);
      return;
    }
    const token = findToken(request);
    if (options.keyring.required) {
      if (token === undefined) {
        deny(response, 'missing apikey');
        return;
      }
      const role = options.keyring.roleOf(token);
      if (role === undefined) {
        deny(response, 'wrong apikey');
        return;
      }
      if (role === 'viewer' && !viewerMayCall(request.method, request.originalUrl.split('?')[0])) {
        deny(response, 'invalid method for role viewer');
        return;
      }
    }
    response.setHeader('X-API-VERSION', options.apiVersion);
    next();
  };
}

/**
 * Viewers may only read. APISIX equates that with GET; Strait's match debugger is a read that
 * needs a body, so its POST is a read too.
 */
const READ_ONLY_POSTS = new Set(['/strait/v1/match']);

function viewerMayCall(method: string, path: string): boolean {
  return method === 'GET' || (method === 'POST' && READ_ONLY_POSTS.has(path));
}

function deny(response: Response, description: string): void {
  sendAdminJson(response, 401, { error_msg: 'failed to check token', description });
}

function findToken(request: Request): string | undefined {
  const fromQuery = request.query.api_key;
  if (typeof fromQuery === 'string' && fromQuery !== '') return fromQuery;
  const fromHeader = request.headers['x-api-key'];
  if (typeof fromHeader === 'string' && fromHeader !== '') return fromHeader;
  return readCookie(request.headers.cookie, 'X-API-KEY');
}

function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(';') ?? []) {
    const separator = part.indexOf('=');
    if (separator > 0 && part.slice(0, separator).trim() === name) {
      return decodeURIComponent(part.slice(separator + 1).trim());
    }
  }
  return undefined;
}
