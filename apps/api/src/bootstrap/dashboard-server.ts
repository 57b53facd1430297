import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';
import { ADMIN_PATH_PREFIXES } from './create-app';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

type RequestHandler = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * The dashboard listener (:9000): the static dashboard build, plus the admin API on the same
 * origin so the browser needs no CORS. Admin paths go through the very same Express pipeline as
 * :9180, so allow_admin and the keys apply here too.
 */
export function createDashboardServer(adminHandler: RequestHandler, buildDirectory: string): Server {
  const root = resolve(buildDirectory);
  return createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (ADMIN_PATH_PREFIXES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`))) {
      adminHandler(request, response);
      return;
    }
    serveStatic(root, decodeURIComponent(path), response);
  });
}

function serveStatic(root: string, path: string, response: ServerResponse): void {
  if (!existsSync(root)) {
    response.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' });
    response.end('The dashboard has not been built. Run `npm start` (which builds it) or `npm run build`.\n');
    return;
  }
  // normalize + prefix check keeps `..` from walking out of the build directory.
  const candidate = normalize(join(root, path));
  if (!candidate.startsWith(root)) {
    response.writeHead(400).end();
    return;
  }
  const file = [candidate, `${candidate}.html`, join(candidate, 'index.html')].find(
    (option) => existsSync(option) && statSync(option).isFile(),
  );
  const target = file ?? join(root, '404.html');
  if (!existsSync(target)) {
    response.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not found\n');
    return;
  }
  response.writeHead(file ? 200 : 404, {
    'Content-Type': CONTENT_TYPES[extname(target)] ?? 'application/octet-stream',
  });
  createReadStream(target).pipe(response);
}
