/**
 * An error whose HTTP status and body are part of the APISIX admin contract. Services throw it and
 * the global exception filter writes it unchanged. `body` is either a JSON object or, for the few
 * APISIX answers that are plain text (`page_size must be between 10 and 500`), a string.
 */
export class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown> | string,
  ) {
    super(typeof body === 'string' ? body : JSON.stringify(body));
  }

  /** `{"error_msg": ...}`, the shape of every APISIX admin error except 404 Key not found. */
  static badRequest(message: string): AdminError {
    return new AdminError(400, { error_msg: message });
  }

  static keyNotFound(): AdminError {
    return new AdminError(404, { message: 'Key not found' });
  }
}
