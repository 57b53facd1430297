export type RoutingErrorCode = 'ERR_INVALID_IP' | 'ERR_INVALID_ROUTE';

/** Thrown when a route table or an IP rule cannot be compiled; tests assert on `code`. */
export class RoutingError extends Error {
  override readonly name = 'RoutingError';

  constructor(
    readonly code: RoutingErrorCode,
    message: string,
  ) {
    super(message);
  }
}
