/**
 * Fatal TLS alert records written by hand when the handshake is refused before OpenSSL is
 * involved (no SNI, no certificate): the client then reports a precise reason
 * (`tlsv1 unrecognized name`) instead of a bare reset. Record version 0x0303 is what TLS 1.2 and
 * 1.3 peers expect before the version is negotiated (RFC 8446 5.1 accepts any 0x03xx).
 *
 * nginx/APISIX abort such handshakes from ssl_client_hello_by_lua with an alert too; the
 * description differs (theirs is internal_error), the outcome is the same: the handshake fails.
 */
function alertRecord(description: number): Buffer {
  // ContentType alert(21), version 3.3, length 2, level fatal(2), description.
  return Buffer.from([21, 3, 3, 0, 2, 2, description]);
}

/** RFC 6066 3: the server does not recognise the name it was asked for. */
export const UNRECOGNIZED_NAME_ALERT = alertRecord(112);
/** No SNI at all (and no fallback): no certificate can be chosen. */
export const HANDSHAKE_FAILURE_ALERT = alertRecord(40);
/** The chosen certificate object could not be loaded (bad PEM, key mismatch). */
export const INTERNAL_ERROR_ALERT = alertRecord(80);
