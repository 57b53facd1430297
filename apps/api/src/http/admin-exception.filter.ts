import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import { AdminError } from '../common/admin-error';
import { isResourceKind } from '../store/resource-kind';
import { sendAdminJson } from './admin-response';

/** Admin path segments that are not stored resources but exist (plugins, schema). */
const OTHER_ADMIN_SEGMENTS = new Set(['plugins', 'schema']);

/**
 * Produces every error body of the HTTP API. APISIX shapes are the contract; an unexpected error is
 * a 500 whose id appears in the log, never a stack trace in the body.
 */
@Catch()
export class AdminExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpErrors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const context = host.switchToHttp();
    const request = context.getRequest<Request>();
    const response = context.getResponse<Response>();
    if (response.headersSent) return;

    if (exception instanceof AdminError) {
      sendAdminJson(response, exception.status, exception.body);
      return;
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status === 404) {
        sendAdminJson(response, 404, notFoundBody(request.path));
        return;
      }
      const payload = exception.getResponse();
      const message =
        typeof payload === 'object' && payload !== null && 'message' in payload
          ? (payload as { message: unknown }).message
          : exception.message;
      sendAdminJson(response, status, {
        error_msg: Array.isArray(message) ? message.join('; ') : String(message),
      });
      return;
    }
    const errorId = randomUUID();
    this.logger.error({
      msg: 'unexpected error',
      errorId,
      method: request.method,
      path: request.path,
      error: exception instanceof Error ? exception.stack : String(exception),
    });
    sendAdminJson(response, 500, { error_msg: `internal error, id ${errorId}` });
  }
}

/** `/apisix/admin/ssl/1` names a resource type APISIX 3 does not have (spec 1.1). */
function notFoundBody(path: string): Record<string, unknown> {
  const match = /^\/apisix\/admin\/([^/]+)/.exec(path);
  if (match && !isResourceKind(match[1]) && !OTHER_ADMIN_SEGMENTS.has(match[1])) {
    return { error_msg: `Unsupported resource type: ${match[1]}` };
  }
  return { error_msg: '404 Route Not Found' };
}
